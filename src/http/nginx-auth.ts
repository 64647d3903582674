import { timingSafeEqual, createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { LoginAttempt, LoginResult, Protocol } from '../auth/types.js';
import { AUTH_REPLIES } from '../errors/auth-replies.js';
import type { Logger } from '../log/logger.js';
import { unmapIpv4 } from '../net/networks.js';

/** The upstreams nginx is sent to after a successful login. */
export interface NginxUpstreams {
  imap: MailboxUpstream;
  pop3: MailboxUpstream;
  smtp: { host: string; port: number };
}

/** A Dovecot IMAP or POP3 service: nginx logs in there as the address through the master user. */
export interface MailboxUpstream {
  host: string;
  port: number;
  masterUser: string;
  masterPassword: string;
}

export interface NginxAuthDeps {
  authenticate(attempt: LoginAttempt): Promise<LoginResult>;
  /** Whether Client-IP is on a trusted network: nginx, proven by the shared secret, vouches for the address it sends. */
  isTrustedNetwork(ip: string): boolean;
  log: Logger;
  /** Empty refuses every request: an open auth_http endpoint would be a password oracle. */
  secret: string;
  upstreams: NginxUpstreams;
  onResult?(protocol: Protocol, result: LoginResult): void;
}

export interface NginxReply {
  status: number;
  headers: Record<string, string>;
}

/** Auth-Wait per attempt (seconds): 1, 2, 4; past the last a wrong password gets none and nginx closes the client's connection. */
export const AUTH_WAIT_SECONDS = [1, 2, 4] as const;
const PROTOCOLS: ReadonlySet<string> = new Set(['imap', 'smtp', 'pop3']);
const HEADER_SAFE = /^[\x20-\x7e]*$/;

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string {
  const value = headers[name.toLowerCase()];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

function sameSecret(given: string, expected: string): boolean {
  // digests have equal length whatever the inputs, so the comparison leaks nothing through timing
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function decode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/**
 * nginx mail's auth_http protocol: the request is all headers (Auth-Method,
 * Auth-User, Auth-Pass URL-encoded, Auth-Protocol, Auth-Login-Attempt,
 * Client-IP, …); the answer is all headers too, with HTTP 200 whatever the
 * verdict. Only a missing or wrong shared secret gets a 403.
 */
export async function nginxAuth(headers: Headers, deps: NginxAuthDeps): Promise<NginxReply> {
  if (!deps.secret || !sameSecret(header(headers, 'X-Devicepass-Secret'), deps.secret)) {
    deps.log.warn({ surface: 'http', client: header(headers, 'Client-IP').slice(0, 64) }, 'auth_http: request without the shared secret refused');
    return { status: 403, headers: {} };
  }
  const protocol = header(headers, 'Auth-Protocol').toLowerCase();
  const method = header(headers, 'Auth-Method').toLowerCase();
  const attempt = Math.max(1, Number.parseInt(header(headers, 'Auth-Login-Attempt'), 10) || 1);
  const clientIp = unmapIpv4(header(headers, 'Client-IP')) || 'unknown';
  const user = decode(header(headers, 'Auth-User'));
  const password = decode(header(headers, 'Auth-Pass'));

  if (!PROTOCOLS.has(protocol) || method !== 'plain' || user === null || password === null) {
    // APOP and CRAM-MD5 need the stored plaintext, which devicepass never has
    deps.log.info({ surface: 'http', protocol: protocol.slice(0, 16), method: method.slice(0, 16) }, 'auth_http: request not served');
    return failed(protocol, attempt, false);
  }
  const scope = protocol as Protocol;
  const clientName = scope === 'smtp' ? header(headers, 'Auth-SMTP-Helo').slice(0, 255) || null : null;
  let result: LoginResult;
  try {
    result = await deps.authenticate({ address: user, password, protocol: scope, clientIp, trusted: deps.isTrustedNetwork(clientIp), clientName });
  } catch (err) {
    deps.log.error({ err, surface: 'http' }, 'auth_http: login could not be decided');
    return failed(protocol, attempt, true);
  }
  deps.onResult?.(scope, result);
  if (!result.ok) return failed(protocol, attempt, result.temporary);
  return success(scope, result.address, password, deps.upstreams, deps.log);
}

async function success(protocol: Protocol, address: string, password: string, upstreams: NginxUpstreams, log: Logger): Promise<NginxReply> {
  const target = upstreams[protocol];
  let server: string;
  try {
    // nginx wants an IP address in Auth-Server, never a name
    server = isIP(target.host) ? target.host : (await lookup(target.host)).address;
  } catch (err) {
    log.error({ err, host: target.host }, 'auth_http: upstream host does not resolve');
    return failed(protocol, 1, true);
  }
  const headers: Record<string, string> = { 'Auth-Status': 'OK', 'Auth-Server': server, 'Auth-Port': String(target.port) };
  if (protocol !== 'smtp') {
    const { masterUser, masterPassword } = upstreams[protocol];
    if (masterUser) {
      // Dovecot's master-user login: "address*master" with the master password
      headers['Auth-User'] = `${address}*${masterUser}`;
      headers['Auth-Pass'] = masterPassword;
    } else {
      // no master user: the upstream checks the same device password itself (e.g. through devicepass-checkpassword)
      if (!HEADER_SAFE.test(password)) return failed(protocol, 1, false);
      headers['Auth-User'] = address;
      headers['Auth-Pass'] = password;
    }
  }
  return { status: 200, headers };
}

function failed(protocol: string, attempt: number, temporary: boolean): NginxReply {
  const reply = temporary ? AUTH_REPLIES.temporary.nginx : AUTH_REPLIES.failed.nginx;
  const headers: Record<string, string> = { 'Auth-Status': reply.status };
  // a temporary failure always invites a retry; wrong passwords only up to the cap
  const wait = AUTH_WAIT_SECONDS[attempt - 1] ?? (temporary ? AUTH_WAIT_SECONDS[AUTH_WAIT_SECONDS.length - 1] : undefined);
  if (wait !== undefined) headers['Auth-Wait'] = String(wait);
  if (protocol === 'smtp') headers['Auth-Error-Code'] = reply.smtpErrorCode;
  return { status: 200, headers };
}
