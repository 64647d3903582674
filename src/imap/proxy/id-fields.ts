import { isIPv4 } from 'node:net';
import type { UpstreamLogin } from './upstream.js';

/**
 * The RFC 2971 field names a client may describe itself with. Only these are
 * forwarded: Dovecot trusts every "x-…" field from a trusted network (that is
 * us), so a client's own x-originating-ip or x-forward-* must never reach it.
 */
const CLIENT_FIELDS = new Set(['name', 'version', 'os', 'os-version', 'vendor', 'support-url', 'address', 'date', 'command', 'arguments', 'environment']);

/** RFC 2971: values are at most 1024 octets (and 30 pairs at most, which our 5 + 11 names cannot exceed). */
const MAX_VALUE = 1024;
/** Dovecot ignores a longer session id. */
const MAX_SESSION_ID = 64;

const PRINTABLE = /^[\x20-\x7e]*$/;

/** `ID (...)` arguments telling Dovecot who the real client is, then the client's own description. */
export function idArguments(login: UpstreamLogin): string {
  const pairs: [string, string][] = [
    ['x-originating-ip', unmapIPv4(login.clientIp)],
    ['x-originating-port', String(login.clientPort)],
    ['x-connected-ip', unmapIPv4(login.localIp)],
    ['x-connected-port', String(login.localPort)],
  ];
  if (login.sessionId.length <= MAX_SESSION_ID && PRINTABLE.test(login.sessionId)) pairs.push(['x-session-ext-id', login.sessionId]);
  for (const [key, value] of Object.entries(login.clientId ?? {})) {
    const name = key.toLowerCase();
    // quoted strings cannot carry CR, LF or NUL, and 8-bit text needs UTF8=ACCEPT; such a value is left out
    if (CLIENT_FIELDS.has(name) && value.length <= MAX_VALUE && PRINTABLE.test(value)) pairs.push([name, value]);
  }
  return `(${pairs.map(([k, v]) => `${quote(k)} ${quote(v)}`).join(' ')})`;
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; the upstream's networks are written in IPv4. */
function unmapIPv4(ip: string): string {
  const mapped = /^::ffff:(.+)$/i.exec(ip);
  return mapped && isIPv4(mapped[1]!) ? mapped[1]! : ip;
}
