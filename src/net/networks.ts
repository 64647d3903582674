import { BlockList, isIP } from 'node:net';
import { parseCidr } from '../config/schema.js';

/** A set of networks ("trusted_networks"); IPv4-mapped IPv6 clients match their IPv4 network. */
export class NetworkSet {
  readonly #list = new BlockList();

  constructor(cidrs: readonly string[]) {
    for (const text of cidrs) {
      const cidr = parseCidr(text);
      if (!cidr) throw new Error(`not a network: ${text}`);
      this.#list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }

  has(ip: string): boolean {
    const address = unmapIpv4(ip);
    const version = isIP(address);
    if (version === 0) return false;
    return this.#list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}

export function unmapIpv4(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
