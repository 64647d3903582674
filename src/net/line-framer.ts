/**
 * CRLF-terminated lines out of socket bytes, one at a time and only when
 * asked, so whatever follows the line the caller stops at stays unread (and
 * can go to the upstream, or back to a socket). A line longer than the
 * limit is an error as soon as that many bytes arrive without an end: input
 * is never buffered without bound. A bare LF also ends a line (some clients
 * send one), and the CR before it is dropped.
 */
export class LineTooLongError extends Error {
  override name = 'LineTooLongError';
}

const LF = 0x0a;
const CR = 0x0d;

export class LineFramer {
  readonly #maxLineBytes: number;
  #buffer: Buffer = Buffer.alloc(0);
  /** Where the search for LF resumes: the bytes before it hold none. */
  #scanned = 0;

  /** `maxLineBytes` counts the line's own bytes, its CRLF included. */
  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
  }

  /** The next line without its line end, or null when more bytes are needed; throws LineTooLongError. */
  next(): Buffer | null {
    const end = this.#buffer.indexOf(LF, this.#scanned);
    if (end < 0) {
      this.#scanned = this.#buffer.length;
      if (this.#buffer.length >= this.#maxLineBytes) throw new LineTooLongError(`line longer than ${this.#maxLineBytes} bytes`);
      return null;
    }
    if (end + 1 > this.#maxLineBytes) throw new LineTooLongError(`line longer than ${this.#maxLineBytes} bytes`);
    const line = this.#buffer.subarray(0, end > 0 && this.#buffer[end - 1] === CR ? end - 1 : end);
    this.#buffer = this.#buffer.subarray(end + 1);
    this.#scanned = 0;
    return line;
  }

  /** Everything not yet returned as a line, and forget it. */
  rest(): Buffer {
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    this.#scanned = 0;
    return rest;
  }

  get buffered(): number {
    return this.#buffer.length;
  }
}
