import type { ImapNode, LineReaderOptions, ReaderItem } from '../../../src/imap/parser/index.js';
import { Driver } from '../../helpers/imap-reader-driver.js';

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

export { Driver } from '../../helpers/imap-reader-driver.js';

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
