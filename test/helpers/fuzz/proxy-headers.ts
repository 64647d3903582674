/** PROXY protocol headers written from the specification (no library), right and damaged, for the parser and the live IMAP front. */
import fc from 'fast-check';
import { bytesBiased } from './wire.js';

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
export const port = fc.integer({ min: 0, max: 65535 });
export const ipv4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
export const ipv6 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 });
export const v6Text = (b: readonly number[]): string => {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  return groups.join(':');
};
/** The canonical text of an IPv6 address, as net.BlockList and the logs write it. */
export const canonical6 = (text: string): string => new URL(`http://[${text}]/`).hostname.slice(1, -1);

/** A v2 header written from the specification (no library), with room for TLVs the parser must skip. */
export function v2Header(family: 4 | 6, src: number[], dst: number[], sport: number, dport: number, tlv: Buffer): Buffer {
  const addresses = Buffer.concat([Buffer.from(src), Buffer.from(dst), Buffer.from([sport >> 8, sport & 255, dport >> 8, dport & 255])]);
  const payload = Buffer.concat([addresses, tlv]);
  const fixed = Buffer.from([0x21, family === 4 ? 0x11 : 0x21, payload.length >> 8, payload.length & 255]);
  return Buffer.concat([V2_SIGNATURE, fixed, payload]);
}
/** TLVs: type, 16-bit length, value. */
export const tlvs = fc.array(fc.tuple(fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 20 })), { maxLength: 3 })
  .map((list) => Buffer.concat(list.map(([type, value]) => Buffer.concat([Buffer.from([type, value.length >> 8, value.length & 255]), Buffer.from(value)]))));

/** Headers of every kind: well-formed v1 and v2, nearly-v1 text, noise; then a few bytes overwritten. */
export const proxyHeader: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.oneof(
      bytesBiased(120),
      fc.tuple(ipv4, ipv4, port, port, tlvs).map(([s, d, a, b, t]) => v2Header(4, s, d, a, b, t)),
      fc.tuple(ipv6, ipv6, port, port).map(([s, d, a, b]) => v2Header(6, s, d, a, b, Buffer.alloc(0))),
      fc.tuple(ipv4, ipv4, port, port).map(([s, d, a, b]) => latin1(`PROXY TCP4 ${s.join('.')} ${d.join('.')} ${a} ${b}\r\n`)),
      fc.tuple(fc.constantFrom('TCP4', 'TCP6', 'UNKNOWN', 'UDP4', 'tcp4', ''), fc.array(fc.constantFrom('1.2.3.4', '::1', '65535', '65536', '-1', ' ', '999.1.1.1', 'x'), { maxLength: 5 }))
        .map(([fam, parts]) => latin1(`PROXY ${fam} ${parts.join(' ')}\r\n`)),
    ),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
  )
  .map(([base, flips]) => {
    const buf = Buffer.from(base);
    for (const [at, value] of flips) if (buf.length > 0) buf[at % buf.length] = value;
    return buf;
  });
