import { BlockList, isIP } from 'node:net';
import { parseCidr } from './address.js';

/** Answers remembered per set: enough for every client of a busy front, small enough to never matter. */
const MEMO_LIMIT = 4096;

/** A set of networks ("trusted_networks"); IPv4-mapped IPv6 clients match their IPv4 network. */
export class NetworkSet {
  #list = new BlockList();
  /**
   * The set changes only on reload, and the same client addresses come back on every
   * connection, while BlockList.check parses the address each time: it was
   * measurable among the per-login costs of the IMAP front.
   */
  readonly #memo = new Map<string, boolean>();

  constructor(cidrs: readonly string[]) {
    this.#list = NetworkSet.#build(cidrs);
  }

  /** A reload: every holder of this set sees the new networks from the next question on. */
  replace(cidrs: readonly string[]): void {
    this.#list = NetworkSet.#build(cidrs);
    this.#memo.clear();
  }

  static #build(cidrs: readonly string[]): BlockList {
    const list = new BlockList();
    for (const text of cidrs) {
      const cidr = parseCidr(text);
      if (!cidr) throw new Error(`not a network: ${text}`);
      list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    return list;
  }

  has(ip: string): boolean {
    let known = this.#memo.get(ip);
    if (known === undefined) {
      known = this.#check(ip);
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(ip, known);
    }
    return known;
  }

  #check(ip: string): boolean {
    const address = unmapIpv4(ip);
    const version = isIP(address);
    if (version === 0) return false;
    return this.#list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}

export function unmapIpv4(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
