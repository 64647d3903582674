import { describe, expect, it } from 'vitest';
import { clientNetwork } from '../../../src/auth/client-network.js';
import { Throttle, type ThrottleOptions } from '../../../src/auth/throttle.js';
import { NetworkSet } from '../../../src/net/networks.js';

function throttle(now: { t: number }, overrides: Partial<ThrottleOptions> = {}) {
  return new Throttle({
    trusted: new NetworkSet(['127.0.0.0/8', '::1/128', '10.0.0.0/8']),
    ipv4Prefix: 32,
    ipv6Prefix: 64,
    hashRate: 2,
    hashBurst: 5,
    failureDelayMs: 2000,
    failureDelayMaxMs: 15000,
    lockoutFailures: 3,
    lockoutWindowMs: 60_000,
    maxNetworks: 1000,
    maxAddresses: 1000,
    maxNetworksPerAddress: 8,
    now: () => now.t,
    ...overrides,
  });
}

describe('clientNetwork', () => {
  const prefixes = { ipv4Prefix: 32, ipv6Prefix: 64 };
  it('is the address for IPv4, the /64 for IPv6, IPv4-mapped counted as IPv4', () => {
    expect(clientNetwork('203.0.113.9', prefixes)).toBe('203.0.113.9/32');
    expect(clientNetwork('::ffff:203.0.113.9', prefixes)).toBe('203.0.113.9/32');
    expect(clientNetwork('2001:db8:1:2:aaaa::1', prefixes)).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(clientNetwork('2001:db8:1:2::ffff', prefixes)).toBe(clientNetwork('2001:db8:1:2:ffff:ffff:ffff:ffff', prefixes));
    expect(clientNetwork('2001:db8:1:3::1', prefixes)).not.toBe(clientNetwork('2001:db8:1:2::1', prefixes));
    expect(clientNetwork('::1', prefixes)).toBe('0:0:0:0:0:0:0:0/64');
  });

  it('follows the configured prefixes, down to bits inside a byte or group', () => {
    expect(clientNetwork('203.0.113.200', { ipv4Prefix: 24, ipv6Prefix: 64 })).toBe('203.0.113.0/24');
    expect(clientNetwork('203.0.113.200', { ipv4Prefix: 25, ipv6Prefix: 64 })).toBe('203.0.113.128/25');
    expect(clientNetwork('2001:db8:abcd:12ff::1', { ipv4Prefix: 32, ipv6Prefix: 56 })).toBe('2001:db8:abcd:1200:0:0:0:0/56');
    expect(clientNetwork('2001:db8::5', { ipv4Prefix: 32, ipv6Prefix: 128 })).toBe('2001:db8:0:0:0:0:0:5/128');
  });

  it('leaves something that is not an IP as it is', () => {
    expect(clientNetwork('unknown', prefixes)).toBe('unknown');
  });
});

describe('Throttle', () => {
  it('grows a network failure delay 2 s, 4 s, 8 s, capped at 15 s, and forgets it after a quiet window', () => {
    const now = { t: 1_000_000 };
    const t = throttle(now, { lockoutFailures: 100 });
    const ip = '203.0.113.9';
    expect(t.delayFor(ip, null)).toBe(0);
    const seen = [];
    for (let i = 0; i < 5; i++) {
      t.freshFailure(ip, `user${i}@example.com`);
      seen.push(t.delayFor(ip, null));
    }
    expect(seen).toEqual([2000, 4000, 8000, 15000, 15000]);
    now.t += 60_001;
    expect(t.delayFor(ip, null)).toBe(0);
  });

  it('limits the hashes a network may start with a token bucket, before any work', () => {
    const now = { t: 1_000_000 };
    const t = throttle(now);
    const admitted = Array.from({ length: 8 }, () => t.admit('203.0.113.9', 'a@example.com'));
    expect(admitted).toEqual([null, null, null, null, null, 'network-rate', 'network-rate', 'network-rate']);
    // another network has its own bucket
    expect(t.admit('203.0.113.10', 'a@example.com')).toBeNull();
    now.t += 1000; // two tokens back at 2/s
    expect([t.admit('203.0.113.9', 'b@example.com'), t.admit('203.0.113.9', 'b@example.com'), t.admit('203.0.113.9', 'b@example.com')])
      .toEqual([null, null, 'network-rate']);
  });

  it('refuses fresh attempts on an address only to the network that guessed at it', () => {
    const now = { t: 1_000_000 };
    const t = throttle(now, { hashBurst: 100 });
    for (let i = 0; i < 3; i++) t.freshFailure('198.51.100.1', 'a@example.com');
    expect(t.admit('198.51.100.1', 'a@example.com')).toBe('address-network');
    expect(t.admit('198.51.100.1', 'b@example.com')).toBeNull();
    expect(t.admit('203.0.113.50', 'a@example.com')).toBeNull();
    now.t += 60_001;
    expect(t.admit('198.51.100.1', 'a@example.com')).toBeNull();
  });

  it('makes every failure on an address attacked from many networks wait the longest delay', () => {
    const t = throttle({ t: 1_000_000 });
    for (let i = 0; i < 3; i++) t.freshFailure(`198.51.100.${i}`, 'a@example.com');
    expect(t.delayFor('203.0.113.50', 'a@example.com')).toBe(15000);
    expect(t.delayFor('203.0.113.50', 'b@example.com')).toBe(0);
  });

  it('keeps its memory bounded whatever the flood: networks, addresses, networks per address', () => {
    const t = throttle({ t: 1_000_000 }, { maxNetworks: 100, maxAddresses: 100, maxNetworksPerAddress: 4, lockoutFailures: 1 });
    for (let i = 0; i < 5000; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      t.admit(ip, `user${i}@example.com`);
      t.freshFailure(ip, `user${i}@example.com`);
      t.freshFailure(ip, 'target@example.com');
    }
    expect(t.stats()).toEqual({ networks: 100, addresses: 100 });
    // only the last 4 networks are remembered on the target: the first is forgotten, the last locked
    expect(t.admit('10.0.0.0', 'target@example.com')).toBeNull();
    expect(t.admit('10.0.19.135', 'target@example.com')).toBe('address-network');
  });

  it('forgets quiet state on sweep', () => {
    const now = { t: 1_000_000 };
    const t = throttle(now);
    t.freshFailure('203.0.113.9', 'a@example.com');
    expect(t.stats()).toEqual({ networks: 1, addresses: 1 });
    now.t += 60_001;
    t.sweep();
    expect(t.stats()).toEqual({ networks: 0, addresses: 0 });
  });

  it('says which client addresses are on trusted networks, including IPv4-mapped IPv6', () => {
    const t = throttle({ t: 1_000_000 });
    for (const ip of ['127.0.0.1', '::1', '::ffff:10.1.2.3']) expect(t.isTrusted(ip)).toBe(true);
    expect(t.isTrusted('203.0.113.1')).toBe(false);
  });

  it('says a network is proven after a login, suspect after fresh failures, new otherwise', () => {
    const now = { t: 1_000_000 };
    const t = throttle(now);
    expect(t.standing('203.0.113.50')).toBe('new');
    t.succeeded('203.0.113.50');
    expect(t.standing('203.0.113.50')).toBe('proven');
    t.freshFailure('198.51.100.1', 'a@example.com');
    expect(t.standing('198.51.100.1')).toBe('suspect');
    now.t += 1;
    t.freshFailure('203.0.113.50', 'a@example.com'); // a typo at home: suspect until the next success
    expect(t.standing('203.0.113.50')).toBe('suspect');
    now.t += 60_001;
    expect(t.standing('198.51.100.1')).toBe('new');
  });
});
