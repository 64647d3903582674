import { parseCidr } from '../net/address.js';
import { bigIntToIp as fromBigInt, ipToBigInt as toBigInt } from '../net/ip-bits.js';

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
