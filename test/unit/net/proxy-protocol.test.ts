import { Command, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, TransportProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import { describe, expect, it } from 'vitest';
import { looksLikeProxyHeader, parseProxyHeader, V2_MAX_PAYLOAD } from '../../../src/net/proxy-protocol.js';

const v2 = (command: Command, address: IPv4ProxyAddress | IPv6ProxyAddress) =>
  Buffer.from(new V2ProxyProtocol(command, TransportProtocol.STREAM, address).build());
const ipv4 = new IPv4ProxyAddress(IPv4Address.createFrom([192, 0, 2, 1]), 1234, IPv4Address.createFrom([203, 0, 113, 9]), 993);

describe('parseProxyHeader', () => {
  it.each([
    ['PROXY TCP4 192.0.2.1 203.0.113.9 1234 143\r\n', { address: '192.0.2.1', port: 1234 }, { address: '203.0.113.9', port: 143 }],
    ['PROXY TCP6 2001:db8::1 2001:db8::2 65535 993\r\n', { address: '2001:db8::1', port: 65535 }, { address: '2001:db8::2', port: 993 }],
  ])('v1 %j', (text, source, destination) => {
    const r = parseProxyHeader(Buffer.from(`${text}a CAPABILITY\r\n`));
    expect(r).toEqual({ status: 'ok', header: { version: 1, source, destination }, length: text.length });
  });

  it('v1 UNKNOWN keeps the peer', () => {
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toEqual({ status: 'ok', header: { version: 1, source: null, destination: null }, length: 15 });
  });

  it.each([
    'PROXY TCP4 999.0.2.1 203.0.113.9 1 2\r\n',
    'PROXY TCP4 2001:db8::1 203.0.113.9 1 2\r\n',
    'PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n',
    'PROXY TCP4 192.0.2.1 203.0.113.9 1 99999\r\n',
    'PROXY TCP4 192.0.2.1 203.0.113.9 1 2\n',
    'PROXY UDP4 192.0.2.1 203.0.113.9 1 2\r\n',
    'PROXY TCP4  192.0.2.1 203.0.113.9 1 2\r\n',
    `PROXY TCP4 ${'1'.repeat(120)}\r\n`,
    'GET / HTTP/1.0\r\n',
  ])('v1 refuses %j', (text) => {
    expect(parseProxyHeader(Buffer.from(text)).status).toBe('invalid');
  });

  it('v1 and v2 report incomplete input instead of guessing', () => {
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.1'))).toEqual({ status: 'incomplete' });
    const full = v2(Command.PROXY, ipv4);
    for (let n = 1; n < full.length; n++) expect(parseProxyHeader(full.subarray(0, n))).toEqual({ status: 'incomplete' });
  });

  it('v2 IPv4 and IPv6, with the header length taken from the header, TLVs skipped', () => {
    // built by hand: the library's builder leaves TLVs out of the length field
    const header = Buffer.concat([v2(Command.PROXY, ipv4), Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32])]); // ALPN "h2"
    header.writeUInt16BE(12 + 5, 14);
    const r = parseProxyHeader(Buffer.concat([header, Buffer.from('a NOOP\r\n')]));
    expect(r).toEqual({
      status: 'ok',
      header: { version: 2, source: { address: '192.0.2.1', port: 1234 }, destination: { address: '203.0.113.9', port: 993 } },
      length: header.length,
    });
    const six = new IPv6ProxyAddress(IPv6Address.createFrom([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 5, IPv6Address.createFrom([]), 6);
    const r6 = parseProxyHeader(v2(Command.PROXY, six));
    expect(r6.status === 'ok' && r6.header.source).toEqual({ address: '2001:db8::1', port: 5 });
  });

  it('v2 LOCAL keeps the peer', () => {
    const r = parseProxyHeader(v2(Command.LOCAL, ipv4));
    expect(r.status === 'ok' && r.header).toEqual({ version: 2, source: null, destination: null });
  });

  it('v2 refuses a bad version, an oversized length and a length shorter than the addresses', () => {
    const header = v2(Command.PROXY, ipv4);
    const badVersion = Buffer.from(header);
    badVersion[12] = 0x31;
    expect(parseProxyHeader(badVersion).status).toBe('invalid');
    const huge = Buffer.from(header);
    huge.writeUInt16BE(V2_MAX_PAYLOAD + 1, 14);
    expect(parseProxyHeader(huge).status).toBe('invalid');
    const short = Buffer.from(header.subarray(0, 20));
    short.writeUInt16BE(4, 14);
    expect(parseProxyHeader(short).status).toBe('invalid');
  });

  it('looksLikeProxyHeader spots both signatures and nothing else', () => {
    expect(looksLikeProxyHeader(Buffer.from('PROXY TCP4'))).toBe(true);
    expect(looksLikeProxyHeader(v2(Command.PROXY, ipv4).subarray(0, 6))).toBe(true);
    expect(looksLikeProxyHeader(Buffer.from('a1 CAPABILITY'))).toBe(false);
    expect(looksLikeProxyHeader(Buffer.from('\r\nfoo'))).toBe(false);
  });
});
