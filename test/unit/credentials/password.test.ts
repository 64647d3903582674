import { describe, expect, it } from 'vitest';
import { normalizeAddress } from '../../../src/credentials/address.js';
import { generatePassword, normalizeDevicePassword } from '../../../src/credentials/password.js';

describe('generated device passwords', () => {
  it('are six groups of four lowercase letters (≈113 bits) and do not repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const password = generatePassword();
      expect(password).toMatch(/^[a-z]{4}( [a-z]{4}){5}$/);
      seen.add(password);
    }
    expect(seen.size).toBe(500);
    expect(24 * Math.log2(26)).toBeGreaterThanOrEqual(96);
  });

  it('use every letter, roughly evenly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) for (const ch of generatePassword().replace(/ /g, '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(26);
    const expected = (2000 * 24) / 26;
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.15);
  });

  it('normalize by dropping spaces and composing Unicode, nothing else', () => {
    expect(normalizeDevicePassword('abcd efgh ijkl')).toBe('abcdefghijkl');
    expect(normalizeDevicePassword('  ab\tcd ')).toBe('abcd');
    expect(normalizeDevicePassword('e\u0301t\u00e9')).toBe('\u00e9t\u00e9');
    expect(normalizeDevicePassword('MiXeD')).toBe('MiXeD');
  });
});

describe('addresses', () => {
  it.each([
    ['Alice@Example.COM', 'alice@example.com'],
    ['  bob@example.org ', 'bob@example.org'],
    ['first.last+tag@sub.example.co.uk', 'first.last+tag@sub.example.co.uk'],
    ['postmaster@localhost', 'postmaster@localhost'],
    ['jörg@müller.de', 'jörg@müller.de'],
  ])('accepts %s as %s', (input, expected) => expect(normalizeAddress(input)).toBe(expected));

  it.each(['', 'alice', '@example.com', 'alice@', 'a b@example.com', 'alice@exa mple.com', 'a..b@example.com', 'alice@-example.com',
    `${'a'.repeat(65)}@example.com`, `a@${'b'.repeat(250)}.com`, 'alice@exam\u0007ple.com', 'al\u0000ice@example.com'])(
    'refuses %j', (input) => expect(normalizeAddress(input)).toBeNull());
});
