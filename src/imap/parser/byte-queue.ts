/**
 * Growable FIFO of bytes. Concatenating every socket chunk onto the unread
 * remainder would copy a partial line once per chunk, so a client dribbling
 * an 8 KiB line one byte per segment would cost megabytes of copying; here
 * each byte is copied in once, and compaction is amortized.
 */

const EMPTY = Buffer.alloc(0);
/** Capacity above which an emptied queue hands its memory back. */
const KEEP = 16 * 1024;

export class ByteQueue {
  #buf: Buffer = EMPTY;
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#end - this.#start;
  }

  /** The unread bytes. Only valid until the next push(); copy anything kept. */
  view(): Buffer {
    return this.#buf.subarray(this.#start, this.#end);
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#end + chunk.length > this.#buf.length) {
      const live = this.length;
      const need = live + chunk.length;
      // Compacting only while at most half full keeps the copying linear overall.
      if (need <= this.#buf.length && live <= this.#buf.length >>> 1) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const next = Buffer.allocUnsafe(Math.max(need, 2 * this.#buf.length, 256));
        this.#buf.copy(next, 0, this.#start, this.#end);
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  consume(n: number): void {
    this.#start = Math.min(this.#end, this.#start + n);
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      if (this.#buf.length > KEEP) this.#buf = EMPTY;
    }
  }

  clear(): void {
    this.#buf = EMPTY;
    this.#start = this.#end = 0;
  }
}
