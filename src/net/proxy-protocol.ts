/**
 * PROXY protocol v1 (text) and v2 (binary) headers, as HAProxy, nginx and
 * cloud load balancers send them before the first protocol byte. Shared by
 * the fronts: only the listener decides whom to believe (trusted proxies).
 *
 * Framing is done here, not by proxy-protocol-js: the library's v2 parser
 * returns everything after the addresses as "data" whatever the announced
 * length says, and its v1 regex accepts any text as an address. So the exact
 * header bytes are cut out first, handed to the library, and its output is
 * validated before anyone trusts an address from it.
 */
import { isIP, type Socket } from 'node:net';
import { Command, V1ProxyProtocol, V2ProxyProtocol, type V2ProxyProtocol as V2 } from 'proxy-protocol-js';

export interface ProxyPeer {
  readonly address: string;
  readonly port: number;
}

export interface ProxyHeader {
  readonly version: 1 | 2;
  /** The real client; null for v1 UNKNOWN, v2 LOCAL (health checks) and non-IP families: keep the TCP peer. */
  readonly source: ProxyPeer | null;
  readonly destination: ProxyPeer | null;
}

export type ProxyParse =
  | { readonly status: 'incomplete' }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'ok'; readonly header: ProxyHeader; readonly length: number };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** v1: "a maximum of 107 bytes", CRLF included. */
const V1_MAX = 107;
const V2_FIXED = 16;
/** Addresses plus generous room for TLVs (ALPN, authority, SSL info); more is not a header we want. */
export const V2_MAX_PAYLOAD = 2048;

/** True when `buf` is, or may still become, the start of a PROXY header: used to refuse headers from untrusted peers. */
export function looksLikeProxyHeader(buf: Uint8Array): boolean {
  return startsWithPrefixOf(buf, V1_PREFIX) || startsWithPrefixOf(buf, V2_SIGNATURE);
}

/** Pure: one header at the start of `buf`, or how it fails. Never throws. */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return { status: 'incomplete' };
  if (startsWithPrefixOf(buf, V2_SIGNATURE)) return parseV2(buf);
  if (startsWithPrefixOf(buf, V1_PREFIX)) return parseV1(buf);
  return { status: 'invalid', reason: 'not a PROXY protocol header' };
}

function parseV1(buf: Buffer): ProxyParse {
  const lf = buf.indexOf(0x0a);
  if (lf < 0) return buf.length >= V1_MAX ? { status: 'invalid', reason: 'v1 header too long' } : { status: 'incomplete' };
  if (lf + 1 > V1_MAX) return { status: 'invalid', reason: 'v1 header too long' };
  if (buf[lf - 1] !== 0x0d) return { status: 'invalid', reason: 'v1 header not ended by CRLF' };
  const text = buf.toString('latin1', 0, lf + 1);
  if (/^PROXY UNKNOWN[^\r\n]*\r\n$/.test(text)) return ok(1, null, null, lf + 1);
  let parsed: V1ProxyProtocol;
  try {
    parsed = V1ProxyProtocol.parse(text);
  } catch {
    return { status: 'invalid', reason: 'malformed v1 header' };
  }
  const family = parsed.inetProtocol === 'TCP4' ? 4 : parsed.inetProtocol === 'TCP6' ? 6 : 0;
  const source = peer(parsed.source.ipAddress, parsed.source.port, family);
  const destination = peer(parsed.destination.ipAddress, parsed.destination.port, family);
  if (!source || !destination || parsed.data) return { status: 'invalid', reason: 'malformed v1 header' };
  return ok(1, source, destination, lf + 1);
}

function parseV2(buf: Buffer): ProxyParse {
  if (buf.length < V2_FIXED) return { status: 'incomplete' };
  const payload = buf.readUInt16BE(14);
  if (payload > V2_MAX_PAYLOAD) return { status: 'invalid', reason: 'v2 header too long' };
  const length = V2_FIXED + payload;
  if (buf.length < length) return { status: 'incomplete' };
  let parsed: V2;
  try {
    parsed = V2ProxyProtocol.parse(new Uint8Array(buf.subarray(0, length)));
  } catch {
    return { status: 'invalid', reason: 'malformed v2 header' };
  }
  if (parsed.command === Command.LOCAL) return ok(2, null, null, length);
  const a = parsed.proxyAddress;
  if ('sourcePort' in a && 'sourceAddress' in a && Array.isArray(a.sourceAddress.address)) {
    const bytes = a.sourceAddress.address as number[];
    const dst = a.destinationAddress.address as number[];
    const family = bytes.length === 4 ? 4 : 6;
    const source = peer(formatIp(bytes), a.sourcePort, family);
    const destination = peer(formatIp(dst), a.destinationPort, family);
    if (!source || !destination) return { status: 'invalid', reason: 'malformed v2 addresses' };
    return ok(2, source, destination, length);
  }
  // AF_UNSPEC / AF_UNIX: the proxy tells us nothing usable about the client
  return ok(2, null, null, length);
}

export class ProxyProtocolError extends Error {
  override name = 'ProxyProtocolError';
}

/**
 * Reads one header from a fresh socket, then puts back whatever followed it
 * (socket.unshift, so a TLS wrap or the protocol reader sees it next).
 * Rejects on a malformed header, a closed socket or `timeoutMs` of silence;
 * the caller closes the socket.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const finish = (err: Error | null, header?: ProxyHeader, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      if (err) return reject(err);
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(header!);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const r = parseProxyHeader(buffered);
      if (r.status === 'incomplete') return;
      if (r.status === 'invalid') return finish(new ProxyProtocolError(r.reason));
      finish(null, r.header, buffered.subarray(r.length));
    };
    const onClose = () => finish(new ProxyProtocolError('connection closed before the PROXY header'));
    const timer = setTimeout(() => finish(new ProxyProtocolError('no PROXY header in time')), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
    socket.resume(); // a server created with pauseOnConnect hands over sockets that read nothing yet
  });
}

function ok(version: 1 | 2, source: ProxyPeer | null, destination: ProxyPeer | null, length: number): ProxyParse {
  return { status: 'ok', header: { version, source, destination }, length };
}

function peer(address: string, port: number, family: number): ProxyPeer | null {
  if (family === 0 || isIP(address) !== family) return null;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  return { address, port };
}

function formatIp(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  // URL canonicalizes IPv6 (zero compression, lower case): the same text net.BlockList and the logs see elsewhere
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function startsWithPrefixOf(buf: Uint8Array, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}
