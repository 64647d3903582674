import { describe, expect, it } from 'vitest';
import { relative, when } from '../../../src/cli/format.js';

describe('CLI times', () => {
  const now = Date.parse('2026-11-23T21:40:00.000Z');

  it('shows the exact time with its distance from now', () => {
    expect(when('2026-11-23T19:40:00.000Z', now)).toBe('2026-11-23 19:40:00Z (2 h ago)');
    expect(when('2026-11-30T21:40:00.000Z', now)).toBe('2026-11-30 21:40:00Z (in 7 d)');
    expect(when(null, now)).toBe('-');
  });

  it('rounds down to the largest whole unit', () => {
    expect(relative(-999)).toBe('just now');
    expect(relative(-59_000)).toBe('59 s ago');
    expect(relative(-61_000)).toBe('1 min ago');
    expect(relative(3 * 86_400_000 + 5)).toBe('in 3 d');
  });
});
