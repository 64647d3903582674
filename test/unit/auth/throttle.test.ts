import { describe, expect, it } from 'vitest';
import { Throttle } from '../../../src/auth/throttle.js';
import { NetworkSet } from '../../../src/net/networks.js';

function throttle(now: { t: number }) {
  return new Throttle({
    trusted: new NetworkSet(['127.0.0.0/8', '::1/128', '10.0.0.0/8']),
    failureDelayMs: 2000,
    failureDelayMaxMs: 15000,
    lockoutFailures: 3,
    lockoutWindowMs: 60_000,
    now: () => now.t,
  });
}

describe('Throttle', () => {
  it('grows an IP failure delay 2 s, 4 s, 8 s, capped at 15 s, and forgets it after a quiet window', () => {
    const now = { t: 0 };
    const t = throttle(now);
    const ip = '203.0.113.9';
    expect(t.delayFor(ip)).toBe(0);
    const seen = [];
    for (let i = 0; i < 5; i++) {
      t.freshFailure(ip, null);
      seen.push(t.delayFor(ip));
    }
    expect(seen).toEqual([2000, 4000, 8000, 15000, 15000]);
    now.t += 60_001;
    expect(t.delayFor(ip)).toBe(0);
  });

  it('exempts trusted networks, including IPv4-mapped IPv6', () => {
    const t = throttle({ t: 0 });
    for (const ip of ['127.0.0.1', '::1', '::ffff:10.1.2.3']) {
      t.freshFailure(ip, 'a@example.com');
      expect(t.delayFor(ip)).toBe(0);
      expect(t.isTrusted(ip)).toBe(true);
    }
    expect(t.addressLocked('a@example.com')).toBe(false);
    expect(t.isTrusted('203.0.113.1')).toBe(false);
  });

  it('locks an address after too many fresh failures within the window', () => {
    const now = { t: 0 };
    const t = throttle(now);
    t.freshFailure('203.0.113.1', 'a@example.com');
    t.freshFailure('203.0.113.2', 'a@example.com');
    expect(t.addressLocked('a@example.com')).toBe(false);
    t.freshFailure('203.0.113.3', 'a@example.com');
    expect(t.addressLocked('a@example.com')).toBe(true);
    expect(t.addressLocked('b@example.com')).toBe(false);
    now.t += 60_001;
    expect(t.addressLocked('a@example.com')).toBe(false);
  });
});
