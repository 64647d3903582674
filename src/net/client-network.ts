import { isIP } from 'node:net';
import { bigIntToIp, ipToBigInt } from './ip-bits.js';
import { unmapIpv4 } from './networks.js';

/**
 * The network a client address belongs to, for limits per client: an IPv4
 * address is its own network (/32), an IPv6 address counts with its /64 —
 * what one subscriber line or one host usually gets, so a client cannot
 * escape a limit by walking through the addresses of its own prefix.
 * Returns the network's text ("192.0.2.7", "2001:db8:1:2::/64"), or null
 * when `ip` is not an IP address.
 */
export function clientNetwork(ip: string): string | null {
  const address = unmapIpv4(ip);
  const version = isIP(address);
  if (version === 4) return address;
  if (version !== 6) return null;
  const prefix = ipToBigInt(address, 'ipv6') >> 64n << 64n;
  return `${bigIntToIp(prefix, 'ipv6').replace(/(:0)+$/, '')}::/64`;
}
