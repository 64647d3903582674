import {
  CommandReader, decodeSaslResponse, isParseError, parseCommand,
  type ImapNode, type LineReaderOptions, type ReaderItem,
} from '../../../src/imap/parser/index.js';

export const A = (value: string): ImapNode => ({ type: 'ATOM', value });
export const S = (value: string | Buffer): ImapNode => ({ type: 'STRING', value: Buffer.from(value) });
export const L = (value: string | Buffer): ImapNode => ({ type: 'LITERAL', value: Buffer.from(value) });
export const NIL: ImapNode = { type: 'NIL' };
export const LIST = (...items: ImapNode[]): ImapNode => ({ type: 'LIST', items });

/** Small, seedable PRNG (mulberry32) so a failing fuzz case reproduces from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Stands in for the connection: drains after every chunk and, like the real
 * server will, switches to raw-line mode after an AUTHENTICATE without an
 * initial response, and back after the raw line.
 */
export class Driver {
  readonly reader: CommandReader;
  readonly items: ReaderItem[] = [];
  /** Largest bufferedBytes seen right after a push, and right after draining. */
  maxAfterPush = 0;
  maxAfterDrain = 0;

  constructor(options: LineReaderOptions = {}) {
    this.reader = new CommandReader(options);
  }

  feed(chunk: Buffer): this {
    this.reader.push(chunk);
    this.maxAfterPush = Math.max(this.maxAfterPush, this.reader.bufferedBytes);
    for (let item = this.reader.read(); item !== undefined; item = this.reader.read()) {
      this.items.push(item);
      if (item.kind === 'command') {
        const parsed = parseCommand(item.line, item.literals);
        if (!isParseError(parsed) && parsed.command === 'AUTHENTICATE' && parsed.attributes.length === 1) {
          this.reader.expectRawLine();
        }
      } else if (item.kind === 'raw') {
        decodeSaslResponse(item.line);
      }
    }
    this.maxAfterDrain = Math.max(this.maxAfterDrain, this.reader.bufferedBytes);
    return this;
  }

  feedAll(chunks: Iterable<Buffer>): this {
    for (const c of chunks) this.feed(c);
    return this;
  }
}

/** Items produced by feeding `input` cut at the given offsets. */
export function itemsFor(input: Buffer, cuts: number[], options: LineReaderOptions = {}): ReaderItem[] {
  const d = new Driver(options);
  let prev = 0;
  for (const cut of [...cuts, input.length]) {
    d.feed(input.subarray(prev, cut));
    prev = cut;
  }
  return d.items;
}

/** Item list in a form that compares well and prints readably on failure. */
export function show(items: ReaderItem[]): unknown[] {
  return items.map((i) => {
    switch (i.kind) {
      case 'command':
        return { command: i.line.toString('latin1'), literals: i.literals.map((l) => l.toString('latin1')) };
      case 'raw':
        return { raw: i.line.toString('latin1') };
      default:
        return i;
    }
  });
}
