import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const DOT_BUFFER = Buffer.from('.');

/**
 * Prepares message bytes for an upstream DATA phase: every line ending becomes
 * CRLF (a bare CR or LF could otherwise end the message early on a lenient MTA:
 * SMTP smuggling) and a line starting with "." gets a second one (RFC 5321
 * 4.5.2). It does not write the final "." line: the caller decides whether the
 * message is committed at all. `endsWithLineBreak` says whether a CRLF must
 * precede that final line.
 */
export class DataEncoder extends Transform {
  #atLineStart = true;
  /** A CR seen at the end of the previous chunk: whether an LF follows is not known yet. */
  #pendingCr = false;

  get endsWithLineBreak(): boolean {
    return this.#atLineStart && !this.#pendingCr;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    // copies runs of ordinary bytes as slices; only line breaks and leading dots cost extra work
    const parts: Buffer[] = [];
    let run = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.#pendingCr) {
        this.#pendingCr = false;
        parts.push(CRLF);
        this.#atLineStart = true;
        if (byte === LF) {
          run = i + 1;
          continue;
        }
      }
      if (byte === CR || byte === LF) {
        parts.push(chunk.subarray(run, i));
        if (byte === CR) this.#pendingCr = true;
        else {
          parts.push(CRLF);
          this.#atLineStart = true;
        }
        run = i + 1;
        continue;
      }
      if (this.#atLineStart) {
        if (byte === DOT) {
          parts.push(chunk.subarray(run, i), DOT_BUFFER);
          run = i;
        }
        this.#atLineStart = false;
      }
    }
    parts.push(chunk.subarray(run));
    callback(null, Buffer.concat(parts));
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#pendingCr) return callback();
    this.#pendingCr = false;
    this.#atLineStart = true;
    callback(null, CRLF);
  }
}
