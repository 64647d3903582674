/**
 * Frames IMAP server responses (RFC 9051 §7) out of socket bytes, one at a
 * time and only when asked, so that whatever follows the response the caller
 * stops at stays unread and can be handed back to the socket. A response is
 * a line ending in CRLF; a line ending in a literal announcement {N} carries
 * N raw bytes and continues on the next line.
 */

export interface ServerResponse {
  /** "*" (untagged), "+" (continuation) or the command tag. */
  tag: string;
  /** OK, NO, BAD, BYE, PREAUTH for status responses; the upper-cased first word otherwise (CAPABILITY, ID, …). */
  kind: string;
  /** The response code in brackets after a status word, without the brackets, or null. */
  code: string | null;
  /** Everything after the kind (and code), for messages and untagged data. */
  text: string;
}

export class ResponseFramingError extends Error {
  override name = 'ResponseFramingError';
}

const CRLF = Buffer.from('\r\n');
const LITERAL_AT_END = /\{(\d{1,10})\+?\}$/;

export class ResponseReader {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #maxResponseBytes: number;

  constructor(maxResponseBytes = 64 * 1024) {
    this.#maxResponseBytes = maxResponseBytes;
  }

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
  }

  /** The next whole response, or null when more bytes are needed. Throws ResponseFramingError on oversize input. */
  next(): ServerResponse | null {
    let scan = 0;
    for (;;) {
      const end = this.#buffer.indexOf(CRLF, scan);
      if (end < 0) {
        if (this.#buffer.length > this.#maxResponseBytes) throw new ResponseFramingError(`response longer than ${this.#maxResponseBytes} bytes`);
        return null;
      }
      if (end > this.#maxResponseBytes) throw new ResponseFramingError(`response longer than ${this.#maxResponseBytes} bytes`);
      // latin1 keeps one char per byte, so offsets in the text are offsets in the buffer
      const line = this.#buffer.toString('latin1', scan, end);
      const literal = LITERAL_AT_END.exec(line);
      if (!literal) {
        const first = this.#buffer.toString('latin1', 0, this.#buffer.indexOf(CRLF));
        this.#buffer = this.#buffer.subarray(end + 2);
        return parseFirstLine(first);
      }
      const size = Number(literal[1]);
      const after = end + 2 + size;
      if (after > this.#maxResponseBytes) throw new ResponseFramingError(`literal of ${size} bytes exceeds the response limit`);
      if (this.#buffer.length < after) return null;
      scan = after;
    }
  }

  /** Bytes received but not yet returned by next(). */
  rest(): Buffer {
    return this.#buffer;
  }

  get buffered(): number {
    return this.#buffer.length;
  }
}

function parseFirstLine(line: string): ServerResponse {
  const space = line.indexOf(' ');
  const tag = space < 0 ? line : line.slice(0, space);
  if (tag === '' ) throw new ResponseFramingError('empty response line');
  if (tag === '+') return { tag, kind: '+', code: null, text: space < 0 ? '' : line.slice(space + 1) };
  const rest = space < 0 ? '' : line.slice(space + 1);
  const wordEnd = rest.indexOf(' ');
  const kind = (wordEnd < 0 ? rest : rest.slice(0, wordEnd)).toUpperCase();
  let text = wordEnd < 0 ? '' : rest.slice(wordEnd + 1);
  let code: string | null = null;
  if (STATUS.has(kind) && text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close > 0) {
      code = text.slice(1, close);
      text = text.slice(close + 1).trimStart();
    }
  }
  return { tag, kind, code, text };
}

const STATUS = new Set(['OK', 'NO', 'BAD', 'BYE', 'PREAUTH']);

/** The capability names in a "CAPABILITY a b c" code or untagged data, or null if `code` is not one. */
export function capabilitiesFrom(code: string | null): string[] | null {
  if (code === null) return null;
  const words = code.split(' ').filter((w) => w !== '');
  if (words[0]?.toUpperCase() !== 'CAPABILITY') return null;
  return words.slice(1);
}
