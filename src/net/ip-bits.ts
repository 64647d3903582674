/** IP addresses as integers, for network arithmetic: prefixes, ranges. The address must be valid (net.isIP). */
export type IpFamily = 'ipv4' | 'ipv6';

export function ipToBigInt(address: string, family: IpFamily): bigint {
  if (family === 'ipv4') return address.split('.').reduce((n, part) => (n << 8n) + BigInt(Number(part)), 0n);
  let text = address;
  // an embedded IPv4 tail (::ffff:1.2.3.4) is the last two groups
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipToBigInt(v4[1]!, 'ipv4');
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n);
}

/** Uncompressed text ("2001:db8:0:0:0:0:0:1"): what net.BlockList, smtp-server and the logs all accept. */
export function bigIntToIp(value: bigint, family: IpFamily): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(':');
}
