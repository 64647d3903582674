import type { Socket } from 'node:net';
import type { Config } from '../../config/load.js';
import type { Logger } from '../../log/logger.js';
import { idArguments } from './id-fields.js';
import { capabilitiesFrom, type ServerResponse } from './response-reader.js';
import { UpstreamError } from '../../net/upstream-error.js';
import { openMasterSession, type UpstreamOptions, type UpstreamTimeouts } from '../../net/upstream-login.js';
import { UpstreamReader } from './upstream-reader.js';

export { UpstreamError, type UpstreamErrorReason } from '../../net/upstream-error.js';
export { DEFAULT_UPSTREAM_TIMEOUTS, type UpstreamOptions, type UpstreamTimeouts } from '../../net/upstream-login.js';

/** Who is logging in, and from where: passed upstream so Dovecot logs the real client. */
export interface UpstreamLogin {
  address: string;
  clientIp: string;
  clientPort: number;
  localIp: string;
  localPort: number;
  /** The client's own IMAP ID fields (name, version, …), or null when it sent none. */
  clientId: Record<string, string> | null;
  sessionId: string;
}

export interface UpstreamSession {
  /**
   * Positioned right after the upstream's tagged OK line, with no listeners
   * of ours and not flowing: listening for 'data' or piping starts it, with
   * any bytes the upstream sent after the OK first. Attach an 'error'
   * listener in the same tick.
   */
  socket: Socket;
  /** The upstream's post-login CAPABILITY list. */
  capabilities: string[];
}

type UpstreamConfig = Config['imap']['upstream'];

/**
 * Opens an IMAP session at the upstream (Dovecot) logged in as `login.address`
 * through the master user: connect (plain, STARTTLS or implicit TLS, the
 * certificate always verified), ID with the real client's address for
 * Dovecot's login_trusted_networks, then AUTHENTICATE PLAIN with
 * authzid = address, authcid = master user. Rejects with UpstreamError.
 */
export async function openUpstream(upstream: UpstreamConfig, login: UpstreamLogin, log: Logger, options: UpstreamOptions = {}): Promise<UpstreamSession> {
  const opened = await openMasterSession(upstream, { section: 'imap', protocol: 'IMAP', address: login.address, sessionId: login.sessionId }, log, options, async ({ socket, timeouts, plainResponse, startTls }) => {
    let conn = new UpstreamReader(socket);
    let caps = readGreeting(await conn.read('greeting', timeouts.stepMs));
    if (upstream.tls === 'starttls') {
      caps ??= await askCapabilities(conn, 'D0', timeouts.stepMs);
      if (!caps.some((c) => c.toUpperCase() === 'STARTTLS')) throw new UpstreamError('tls', 'upstream does not offer STARTTLS');
      conn.write('D1 STARTTLS\r\n');
      const answer = await untilTagged(conn, 'D1', 'STARTTLS', timeouts.stepMs);
      if (answer.response.kind !== 'OK') throw new UpstreamError('tls', `upstream refused STARTTLS: ${describe(answer.response)}`);
      // bytes already sent in plaintext would be read as if they came over TLS (CVE-2011-0411 style injection)
      if (conn.buffered > 0) throw new UpstreamError('protocol', 'upstream sent data after its STARTTLS answer');
      conn = new UpstreamReader(await startTls(conn.release()));
      caps = null; // RFC 9051 §6.2.1: capabilities learnt before TLS are void
    }
    const capabilities = await masterLogin(conn, caps, plainResponse, login, timeouts);
    return { socket: conn.release(), value: capabilities };
  });
  return { socket: opened.socket, capabilities: opened.value };
}

/** ID, then the master login (pipelined with the ID when the server takes SASL-IR), then the post-login capabilities. */
async function masterLogin(conn: UpstreamReader, known: string[] | null, payload: string, login: UpstreamLogin, timeouts: UpstreamTimeouts): Promise<string[]> {
  let caps = known;
  let out = '';
  if (caps === null) out += 'D2 CAPABILITY\r\n';
  out += `D3 ID ${idArguments(login)}\r\n`;
  const pipelined = caps !== null && usable(caps) && has(caps, 'SASL-IR');
  if (pipelined) out += `D4 AUTHENTICATE PLAIN ${payload}\r\n`;
  conn.write(out);
  if (caps === null) caps = await capabilitiesOf(conn, 'D2', timeouts.stepMs);
  // a server without ID answers BAD; that only costs the client address in its log
  await untilTagged(conn, 'D3', 'ID', timeouts.stepMs);
  if (!pipelined) {
    if (!usable(caps)) throw new UpstreamError('refused', 'upstream refuses plaintext logins on this connection (LOGINDISABLED): use tls = "starttls" or "implicit"');
    if (has(caps, 'SASL-IR')) {
      conn.write(`D4 AUTHENTICATE PLAIN ${payload}\r\n`);
    } else {
      conn.write('D4 AUTHENTICATE PLAIN\r\n');
      const prompt = await untilTagged(conn, 'D4', 'AUTHENTICATE', timeouts.stepMs);
      if (prompt.response.tag !== '+') return refusedOr(prompt.response);
      conn.write(`${payload}\r\n`);
    }
  }
  const done = await untilTagged(conn, 'D4', 'AUTHENTICATE', timeouts.authMs);
  if (done.response.tag === '+') throw new UpstreamError('protocol', 'upstream asked for more than one SASL PLAIN response');
  if (done.response.kind !== 'OK') return refusedOr(done.response);
  return capabilitiesFrom(done.response.code) ?? done.capabilities ?? (await askCapabilities(conn, 'D5', timeouts.stepMs));
}

function refusedOr(response: ServerResponse): never {
  if (response.kind === 'NO') throw new UpstreamError('refused', `upstream refused the master login: ${describe(response)}`);
  throw new UpstreamError('protocol', `upstream answered the master login with ${describe(response)}`);
}

function readGreeting(greeting: ServerResponse): string[] | null {
  if (greeting.tag === '*' && greeting.kind === 'OK') return capabilitiesFrom(greeting.code);
  if (greeting.tag === '*' && greeting.kind === 'BYE') throw new UpstreamError('unreachable', `upstream turned the connection away: ${describe(greeting)}`);
  // PREAUTH would be someone else's session, not the address's
  throw new UpstreamError('protocol', `unexpected upstream greeting: ${describe(greeting)}`);
}

async function askCapabilities(conn: UpstreamReader, tag: string, timeoutMs: number): Promise<string[]> {
  conn.write(`${tag} CAPABILITY\r\n`);
  return capabilitiesOf(conn, tag, timeoutMs);
}

async function capabilitiesOf(conn: UpstreamReader, tag: string, timeoutMs: number): Promise<string[]> {
  const answer = await untilTagged(conn, tag, 'CAPABILITY', timeoutMs);
  const caps = answer.capabilities ?? capabilitiesFrom(answer.response.code);
  if (answer.response.kind !== 'OK' || caps === null) throw new UpstreamError('protocol', `upstream CAPABILITY answer: ${describe(answer.response)}`);
  return caps;
}

/** Reads up to the tagged answer (or a continuation request), noting any untagged CAPABILITY on the way. */
async function untilTagged(conn: UpstreamReader, tag: string, step: string, timeoutMs: number): Promise<{ response: ServerResponse; capabilities: string[] | null }> {
  const deadline = Date.now() + timeoutMs;
  let capabilities: string[] | null = null;
  for (;;) {
    const response = await conn.read(step, Math.max(1, deadline - Date.now()));
    if (response.tag === tag || response.tag === '+') return { response, capabilities };
    if (response.tag !== '*') throw new UpstreamError('protocol', `upstream answered an unknown tag during ${step}: ${describe(response)}`);
    if (response.kind === 'BYE') throw new UpstreamError('unreachable', `upstream closed the session during ${step}: ${describe(response)}`);
    if (response.kind === 'CAPABILITY') capabilities = response.text.split(' ').filter((c) => c !== '');
  }
}

function has(caps: string[], name: string): boolean {
  return caps.some((c) => c.toUpperCase() === name);
}

function usable(caps: string[]): boolean {
  return !has(caps, 'LOGINDISABLED');
}

/** A short, printable rendering of a server response for errors and logs (never a line we sent). */
function describe(response: ServerResponse): string {
  const text = `${response.tag} ${response.kind}${response.code === null ? '' : ` [${response.code}]`} ${response.text}`.trim();
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}
