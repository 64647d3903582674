import { parseCidr } from '../config/schema.js';

/** Wider networks would make smtp-server compare every connection against thousands of entries. */
export const MAX_PROXY_ADDRESSES = 1024;

/**
 * smtp-server's `useProxy` takes a list of exact peer addresses, not networks.
 * `[smtp] trusted_proxies` holds networks, so each is expanded to its
 * addresses; a network wider than MAX_PROXY_ADDRESSES is a configuration error
 * rather than a silent "trust everyone". An empty list turns PROXY off.
 */
export function proxyAllowList(cidrs: readonly string[]): string[] | false {
  const out: string[] = [];
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`[smtp] trusted_proxies: not a network: ${text}`);
    const bits = (cidr.family === 'ipv4' ? 32 : 128) - cidr.prefix;
    if (2 ** bits > MAX_PROXY_ADDRESSES) {
      throw new Error(`[smtp] trusted_proxies: ${text} is wider than ${MAX_PROXY_ADDRESSES} addresses; list the proxies themselves`);
    }
    const base = toBigInt(cidr.address, cidr.family) & ~((1n << BigInt(bits)) - 1n);
    for (let i = 0n; i < 1n << BigInt(bits); i++) out.push(fromBigInt(base + i, cidr.family));
  }
  return out.length > 0 ? out : false;
}

function toBigInt(address: string, family: 'ipv4' | 'ipv6'): bigint {
  if (family === 'ipv4') return address.split('.').reduce((n, part) => (n << 8n) + BigInt(Number(part)), 0n);
  let text = address;
  // an embedded IPv4 tail (::ffff:1.2.3.4) is the last two groups
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = toBigInt(v4[1]!, 'ipv4');
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n);
}

function fromBigInt(value: bigint, family: 'ipv4' | 'ipv6'): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(':');
}
