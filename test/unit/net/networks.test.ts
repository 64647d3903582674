import { describe, expect, it } from 'vitest';
import { NetworkSet } from '../../../src/net/networks.js';

describe('NetworkSet', () => {
  const set = new NetworkSet(['10.0.0.0/8', '2001:db8::/32', '127.0.0.1/32']);

  it('answers the same the second time (memoized) as the first', () => {
    for (let round = 0; round < 2; round++) {
      expect(set.has('10.1.2.3')).toBe(true);
      expect(set.has('11.1.2.3')).toBe(false);
      expect(set.has('::ffff:10.9.9.9')).toBe(true);
      expect(set.has('::ffff:11.9.9.9')).toBe(false);
      expect(set.has('2001:db8::1')).toBe(true);
      expect(set.has('2001:db9::1')).toBe(false);
      expect(set.has('127.0.0.1')).toBe(true);
      expect(set.has('127.0.0.2')).toBe(false);
      expect(set.has('not an address')).toBe(false);
      expect(set.has('')).toBe(false);
    }
  });

  it('stays right once more distinct addresses have been asked about than it remembers', () => {
    for (let i = 0; i < 10_000; i++) {
      const inside = `10.${(i >> 8) & 255}.${i & 255}.1`;
      const outside = `192.0.${(i >> 8) & 255}.${i & 255}`;
      expect(set.has(inside)).toBe(true);
      expect(set.has(outside)).toBe(false);
    }
    expect(set.has('10.0.0.1')).toBe(true);
    expect(set.has('192.0.2.1')).toBe(false);
  });
});
