import { isIP } from 'node:net';
import { unmapIpv4 } from '../net/networks.js';

export interface NetworkPrefixes {
  /** Bits of an IPv4 address that name a client network (32: each address). */
  ipv4Prefix: number;
  /** Bits of an IPv6 address that name a client network (64: one site's subnet). */
  ipv6Prefix: number;
}

/**
 * The client network an IP belongs to, as text ("203.0.113.7/32",
 * "2001:db8:1:2::/64"): what the throttle counts by. One IPv6 host can pick
 * any of 2^64 addresses in its subnet, so counting by address would give it
 * a fresh allowance per guess. IPv4-mapped IPv6 counts as IPv4. Something
 * that is not an IP (a front that knows none) is its own network.
 */
export function clientNetwork(ip: string, prefixes: NetworkPrefixes): string {
  const address = unmapIpv4(ip);
  const version = isIP(address);
  if (version === 4) {
    const bits = prefixes.ipv4Prefix;
    const value = address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
    const masked = bits === 0 ? 0 : Math.floor(value / 2 ** (32 - bits)) * 2 ** (32 - bits);
    const octets = [24, 16, 8, 0].map((shift) => Math.floor(masked / 2 ** shift) % 256);
    return `${octets.join('.')}/${bits}`;
  }
  if (version === 6) {
    const bits = prefixes.ipv6Prefix;
    const groups = expandIpv6(address);
    const kept: number[] = groups.map((group, i) => {
      const from = i * 16;
      if (from + 16 <= bits) return group;
      if (from >= bits) return 0;
      const keep = bits - from;
      return group & (0xffff << (16 - keep)) & 0xffff;
    });
    return `${kept.map((g) => g.toString(16)).join(':')}/${bits}`;
  }
  return ip;
}

/** The eight 16-bit groups of a valid IPv6 address (zone id dropped, embedded IPv4 decoded). */
function expandIpv6(address: string): number[] {
  let text = address.split('%')[0] ?? address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((g) => parseInt(g, 16));
}
