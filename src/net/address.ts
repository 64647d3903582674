import { isIP } from 'node:net';

/** A configured listen address: "host:port", "[v6]:port", or a Unix socket path. */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseListen(value: string): ListenAddress | null {
  const v6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value);
  const v4 = /^([^:/\[\]]+):(\d{1,5})$/.exec(value);
  const hostPort = v6 ?? v4;
  if (hostPort) {
    const port = Number(hostPort[2]);
    if (port > 65535) return null;
    const host = hostPort[1]!;
    if (v6 && isIP(host) !== 6) return null;
    return { kind: 'tcp', host, port };
  }
  if (value.includes('/') || value.endsWith('.sock')) return { kind: 'unix', path: value };
  return null;
}

/** "host:port", with an IPv6 host in brackets so the port stays readable (and parseListen reads it back). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A listen address as an operator writes it: host:port, or the socket's path. */
export function formatListen(address: ListenAddress): string {
  return address.kind === 'unix' ? address.path : formatHostPort(address.host, address.port);
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** "10.0.0.0/8", "::1/128", or a bare address (a whole-length prefix). */
export function parseCidr(value: string): Cidr | null {
  const [address, prefixText, extra] = value.split('/');
  if (address === undefined || extra !== undefined) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}
