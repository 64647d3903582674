/**
 * Streaming framer for IMAP client input: Buffer chunks in, whole commands
 * (one line plus the literals it announces) out, with every buffer bounded.
 *
 * Pull-based on purpose: push() only stores bytes and read() frames one item
 * at a time, so the connection can switch to raw-line mode (AUTHENTICATE)
 * or stop at STARTTLS between two items even when they arrived in one chunk.
 */
import { ByteQueue } from './byte-queue.js';
import { CR, LF, extractTag, literalMarkerAtEnd, type LiteralMarker } from './chars.js';
import {
  DEFAULT_READER_LIMITS,
  type LineReaderOptions, type ReaderError, type ReaderErrorCode, type ReaderItem, type ReaderLimits,
} from './reader-types.js';

const EMPTY = Buffer.alloc(0);
/** Bytes kept from a skipped line: enough for any sane `{N+}` marker at its end. */
const TAIL = 64;
/** A literal's first allocation; it then doubles as its bytes arrive, up to the announced size. */
const LITERAL_START = 256;

export class CommandReader {
  readonly #limits: ReaderLimits;
  readonly #input = new ByteQueue();
  #scanned = 0; // unread bytes already searched for LF
  #closed = false;
  #rawNext = false;

  #inCommand = false;
  #tag: string | undefined;
  #segments: Buffer[] = [];
  #literals: Buffer[] = [];
  #size = 0; // wire bytes of the current command so far
  #stored = 0; // bytes held for the current command
  #discarding = false; // current command already rejected; frame it, keep nothing
  #discarded = 0;

  #inLiteral = false;
  #literalLeft = 0;
  /**
   * The literal's bytes so far, grown as they arrive: an announced size is only
   * a claim, and allocating it up front let every connection hold 64 KiB for
   * a literal it never sent. Undefined while skipping a rejected literal.
   */
  #literalBuf: Buffer | undefined;
  #literalFilled = 0;

  #skipping: 'raw' | 'command' | undefined; // inside an overlong line
  #skippedLine = 0;
  #tail: Buffer = EMPTY;

  constructor(options: LineReaderOptions = {}) {
    const limits: Record<keyof ReaderLimits, number> = { ...DEFAULT_READER_LIMITS };
    for (const key of Object.keys(limits) as (keyof ReaderLimits)[]) {
      const value = options[key] ?? limits[key];
      const min = key === 'maxNonSyncLiteralSize' ? 0 : 1;
      if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${key} must be an integer >= ${min}`);
      limits[key] = value;
    }
    this.#limits = Object.freeze(limits);
  }

  get limits(): ReaderLimits {
    return this.#limits;
  }

  /** Bytes held right now: unread input plus the command being assembled. */
  get bufferedBytes(): number {
    return this.#input.length + this.#stored;
  }

  /** Unread input. Must be 0 after STARTTLS is accepted, else plaintext would leak into the TLS session. */
  get pendingBytes(): number {
    return this.#input.length;
  }

  /** True after a fatal error: all input is ignored from then on. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Copies a chunk in (the caller may reuse it). Call read() until it returns
   * undefined before pushing more, or pause the socket: push() alone never
   * enforces limits.
   */
  push(chunk: Uint8Array): void {
    if (!this.#closed) this.#input.push(chunk);
  }

  /**
   * Makes the next line a RawLineItem (AUTHENTICATE responses, `*` cancels).
   * Only between commands; throws when called mid-command, a caller bug.
   */
  expectRawLine(): void {
    if (this.#inCommand || this.#inLiteral || this.#skipping !== undefined) {
      throw new Error('expectRawLine() called in the middle of a command');
    }
    this.#rawNext = true;
  }

  /**
   * Removes and returns the unread input: after a login the connection hands
   * whatever the client pipelined behind it to the upstream server verbatim.
   * Only between commands; throws when called mid-command, a caller bug.
   */
  takePending(): Buffer {
    if (this.#inCommand || this.#inLiteral || this.#skipping !== undefined) {
      throw new Error('takePending() called in the middle of a command');
    }
    const pending = Buffer.from(this.#input.view());
    this.#input.clear();
    this.#scanned = 0;
    return pending;
  }

  /** Next framed item, or undefined when more input is needed. Never throws. */
  read(): ReaderItem | undefined {
    for (;;) {
      if (this.#closed) return undefined;
      if (this.#inLiteral) {
        if (!this.#takeLiteral()) return undefined;
        continue;
      }
      if (this.#skipping !== undefined) {
        const r = this.#skip();
        if (r === 'more') return undefined;
        if (r !== 'done') return r;
        continue;
      }
      const pending = this.#input.view();
      const lf = pending.indexOf(LF, this.#scanned);
      const max = this.#limits.maxLineLength;
      if (lf < 0) {
        if (pending.length <= max + 1) {
          this.#scanned = pending.length;
          return undefined;
        }
        const err = this.#startSkip();
        if (err) return err;
        continue;
      }
      const end = lf > 0 && pending[lf - 1] === CR ? lf - 1 : lf;
      if (end > max) {
        const err = this.#startSkip();
        if (err) return err;
        continue;
      }
      // Copied: the queue reuses its memory.
      const line = Buffer.from(pending.subarray(0, end));
      this.#consume(lf + 1);
      const item = this.#onLine(line, lf + 1);
      if (item) return item;
    }
  }

  /** Lazy iteration over read(): expectRawLine() called between two items applies to the next one. */
  *drain(): Generator<ReaderItem, void, undefined> {
    for (let item = this.read(); item !== undefined; item = this.read()) yield item;
  }

  #onLine(line: Buffer, wire: number): ReaderItem | undefined {
    if (this.#rawNext) {
      this.#rawNext = false;
      return { kind: 'raw', line };
    }
    if (!this.#inCommand) {
      if (line.length === 0) return undefined; // stray blank lines between commands are harmless
      this.#begin(extractTag(line, true));
    }
    this.#size += wire;
    let err: ReaderItem | undefined;
    if (this.#discarding) {
      this.#discarded += wire;
      if (this.#discarded > this.#limits.maxDiscardSize) return this.#fatal('Too much input after an error');
    } else if (this.#size > this.#limits.maxCommandSize) {
      err = this.#reject('COMMAND_TOO_LARGE', 'Command too large');
    } else {
      this.#segments.push(line);
      this.#stored += line.length;
    }
    return this.#afterLine(line, false) ?? err;
  }

  /** A command line just ended; a trailing literal marker decides whether the command goes on. */
  #afterLine(line: Uint8Array, truncated: boolean): ReaderItem | undefined {
    const m = literalMarkerAtEnd(line, truncated);
    if (m === undefined) return this.#finish();
    if (this.#discarding) return this.#skipLiteral(m);
    const l = this.#limits;
    let err: ReaderItem | undefined;
    if (this.#literals.length >= l.maxLiterals) err = this.#reject('TOO_MANY_LITERALS', 'Too many literals');
    else if (m.nonSync && m.size > l.maxNonSyncLiteralSize) {
      err = this.#reject('NONSYNC_LITERAL_TOO_LARGE', 'Non-synchronizing literal too large');
    } else if (m.size > l.maxLiteralSize) err = this.#reject('LITERAL_TOO_LARGE', 'Literal too large');
    else if (this.#size + m.size > l.maxCommandSize) err = this.#reject('COMMAND_TOO_LARGE', 'Command too large');
    if (err) return this.#skipLiteral(m) ?? err;
    this.#size += m.size;
    this.#inLiteral = true;
    this.#literalLeft = m.size;
    this.#literalBuf = Buffer.alloc(0);
    this.#literalFilled = 0;
    return m.nonSync ? undefined : { kind: 'continuation', tag: this.#tag, size: m.size };
  }

  /** Frames a literal of a rejected command without keeping it. */
  #skipLiteral(m: LiteralMarker): ReaderItem | undefined {
    if (!m.nonSync) {
      // The client waits for "+", gets the tagged BAD instead and sends no data.
      this.#end();
      return undefined;
    }
    if (this.#discarded + m.size > this.#limits.maxDiscardSize) return this.#fatal('Literal too large to skip');
    this.#discarded += m.size;
    this.#inLiteral = true;
    this.#literalLeft = m.size;
    this.#literalBuf = undefined;
    return undefined;
  }

  #takeLiteral(): boolean {
    const n = Math.min(this.#literalLeft, this.#input.length);
    let buf = this.#literalBuf;
    if (buf && n > 0) {
      const need = this.#literalFilled + n;
      if (buf.length < need) {
        const announced = this.#literalFilled + this.#literalLeft;
        const next = Buffer.allocUnsafe(Math.min(announced, Math.max(need, 2 * buf.length, LITERAL_START)));
        buf.copy(next, 0, 0, this.#literalFilled);
        this.#stored += next.length - buf.length;
        this.#literalBuf = buf = next;
      }
      this.#input.view().copy(buf, this.#literalFilled, 0, n);
      this.#literalFilled += n;
    }
    this.#literalLeft -= n;
    this.#consume(n);
    if (this.#literalLeft > 0) return false;
    this.#inLiteral = false;
    // complete: the buffer was grown to exactly the announced size, all of it written
    if (buf) this.#literals.push(buf);
    this.#literalBuf = undefined;
    this.#literalFilled = 0;
    return true;
  }

  /** The current line is over the limit: report once, then skip it without buffering. */
  #startSkip(): ReaderItem | undefined {
    this.#tail = EMPTY;
    this.#skippedLine = 0;
    if (this.#rawNext) {
      this.#rawNext = false;
      this.#skipping = 'raw';
      this.#discarded = 0;
      return this.#error('LINE_TOO_LONG', 'Line too long', undefined, false);
    }
    this.#skipping = 'command';
    if (!this.#inCommand) this.#begin(extractTag(this.#input.view().subarray(0, this.#limits.maxLineLength), false));
    if (this.#discarding) return undefined;
    return this.#reject('LINE_TOO_LONG', 'Line too long');
  }

  #skip(): ReaderItem | 'more' | 'done' {
    const pending = this.#input.view();
    const lf = pending.indexOf(LF);
    const end = lf < 0 ? pending.length : lf + 1;
    this.#tail = keepTail(this.#tail, pending.subarray(0, end));
    this.#skippedLine += end;
    this.#discarded += end;
    this.#consume(end);
    if (this.#discarded > this.#limits.maxDiscardSize) return this.#fatal('Too much input after an error');
    if (lf < 0) return 'more';
    const kind = this.#skipping;
    this.#skipping = undefined;
    if (kind === 'raw') return 'done';
    let t = this.#tail.length - 1; // drop the LF, and a CR before it
    if (this.#tail[t - 1] === CR) t--;
    return this.#afterLine(this.#tail.subarray(0, t), this.#skippedLine > this.#tail.length) ?? 'done';
  }

  #begin(tag: string | undefined): void {
    this.#inCommand = true;
    this.#tag = tag;
    this.#discarded = 0;
  }

  #finish(): ReaderItem | undefined {
    const item: ReaderItem | undefined = this.#discarding
      ? undefined
      : { kind: 'command', line: Buffer.concat(this.#segments), literals: this.#literals };
    this.#end();
    return item;
  }

  #end(): void {
    this.#inCommand = false;
    this.#tag = undefined;
    this.#segments = [];
    this.#literals = [];
    this.#size = 0;
    this.#stored = 0;
    this.#discarding = false;
    this.#discarded = 0;
  }

  #reject(code: ReaderErrorCode, message: string): ReaderError {
    this.#discarding = true;
    this.#segments = [];
    this.#literals = [];
    this.#stored = 0;
    this.#discarded = 0;
    return this.#error(code, message, this.#tag, false);
  }

  #fatal(message: string): ReaderError {
    const tag = this.#tag;
    this.#end();
    this.#closed = true;
    this.#input.clear();
    this.#inLiteral = false;
    this.#literalBuf = undefined;
    this.#skipping = undefined;
    return this.#error('DISCARD_LIMIT', message, tag, true);
  }

  #error(code: ReaderErrorCode, message: string, tag: string | undefined, fatal: boolean): ReaderError {
    return { kind: 'error', code, message, tag, fatal };
  }

  #consume(n: number): void {
    this.#input.consume(n);
    this.#scanned = Math.max(0, this.#scanned - n);
  }
}

function keepTail(tail: Buffer, chunk: Buffer): Buffer {
  if (chunk.length >= TAIL) return Buffer.from(chunk.subarray(chunk.length - TAIL));
  const joined = Buffer.concat([tail, chunk]);
  return joined.length > TAIL ? joined.subarray(joined.length - TAIL) : joined;
}
