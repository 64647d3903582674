import { describe, it, expect } from 'vitest';
import { ByteQueue } from '../../../src/imap/parser/byte-queue.js';
import { CommandReader } from '../../../src/imap/parser/index.js';
import { prng } from './helpers.js';

describe('ByteQueue', () => {
  it('matches a naive reference under random pushes and consumes', () => {
    const rng = prng(7);
    const q = new ByteQueue();
    let ref = Buffer.alloc(0);
    for (let i = 0; i < 5000; i++) {
      if (rng() < 0.55) {
        const chunk = Buffer.from(Array.from({ length: Math.floor(rng() * 300) }, () => Math.floor(rng() * 256)));
        ref = Buffer.concat([ref, chunk]);
        q.push(chunk);
        chunk.fill(0); // the queue must have copied it
      } else {
        const n = Math.floor(rng() * (ref.length + 10));
        q.consume(n);
        ref = ref.subarray(Math.min(n, ref.length));
      }
      expect(q.length).toBe(ref.length);
      expect(q.view().equals(ref)).toBe(true);
    }
  });

  it('keeps a copy of pushed data', () => {
    const q = new ByteQueue();
    const chunk = Buffer.from('abc');
    q.push(chunk);
    chunk.write('xyz');
    expect(q.view().toString()).toBe('abc');
  });

  it('frames a long line dribbled one byte at a time', () => {
    const r = new CommandReader();
    const line = Buffer.from(`a LOGIN "${'u'.repeat(8000)}" p\r\n`);
    const items = [];
    for (const byte of line) {
      r.push(Buffer.of(byte));
      for (let i = r.read(); i; i = r.read()) items.push(i);
    }
    expect(items).toHaveLength(1);
    expect(items[0]?.kind).toBe('command');
  });
});
