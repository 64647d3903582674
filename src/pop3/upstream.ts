/**
 * Opens a POP3 session at the upstream (Dovecot) logged in as the address
 * through the master user: connect (plain, STLS or implicit TLS, the
 * certificate always verified), XCLIENT with the real client's address
 * (counted only when the greeting advertises [XCLIENT], as Dovecot's does for
 * login_trusted_networks), then AUTH PLAIN with authzid = address, authcid =
 * master user, as the initial response (RFC 5034). Rejects with UpstreamError.
 *
 * The commands are pipelined (RFC 2449 PIPELINING; Dovecot reads what
 * arrives before its greeting once the greeting is out), so a login costs
 * one round trip after the connect instead of three: over a plaintext or
 * implicit-TLS connection AUTH goes out before the greeting is read, with
 * XCLIENT ahead of it when the upstream's last greeting offered it (the
 * first connection to an upstream waits for its greeting to learn that);
 * with STLS, STLS goes first (it carries nothing) and XCLIENT and AUTH
 * together right after the handshake. Nothing is ever sent behind STLS
 * before the handshake.
 *
 * A spare connection (src/net/spare-upstreams.ts) has its greeting read and
 * STLS done ahead of time: the login then sends XCLIENT (when the greeting
 * offered it), waits for its answer, and sends AUTH.
 */
import type { Socket } from 'node:net';
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { LineFramer, LineTooLongError } from '../net/line-framer.js';
import type { SpareConnection, SpareUpstreams } from '../net/spare-upstreams.js';
import { UpstreamError } from '../net/upstream-error.js';
import { connectUpstream, DEFAULT_UPSTREAM_TIMEOUTS, openMasterSession, type UpstreamConnection, type UpstreamOptions, type UpstreamTimeouts } from '../net/upstream-login.js';
import { UpstreamReader } from '../net/upstream-reader.js';

/** Who is logging in, and from where: passed upstream so Dovecot logs (and throttles) the real client. */
export interface Pop3UpstreamLogin {
  address: string;
  clientIp: string;
  clientPort: number;
  sessionId: string;
}

type UpstreamConfig = Config['pop3']['upstream'];

/** RFC 2449 says 512 octets for a response line; a little room for servers that say more in a greeting. */
const MAX_RESPONSE_LINE = 4096;

/**
 * Whether each upstream's last greeting offered XCLIENT, keyed by its
 * configuration section (a reload makes a new section, learnt afresh). A new
 * connection pipelines XCLIENT only to an upstream whose greeting offered
 * it, and waits for the greeting of one not heard from yet: XCLIENT is never
 * sent to a server known not to offer it.
 */
const xclientOffered = new WeakMap<UpstreamConfig, boolean>();

function heardGreeting(upstream: UpstreamConfig, greeting: string): boolean {
  const offered = offersXclient(greeting);
  xclientOffered.set(upstream, offered);
  return offered;
}

/** A connection to the POP3 upstream with its greeting read and STLS done, nothing else sent. */
export class Pop3Spare implements SpareConnection {
  readonly connection: UpstreamConnection;
  readonly reader: UpstreamReader<string>;
  readonly greeting: string;

  constructor(connection: UpstreamConnection, reader: UpstreamReader<string>, greeting: string) {
    this.connection = connection;
    this.reader = reader;
    this.greeting = greeting;
  }

  get socket(): Socket {
    return this.reader.socket;
  }

  get sockets(): readonly Socket[] {
    return this.connection.sockets;
  }

  usable(): boolean {
    return !this.socket.destroyed && !this.reader.failed && this.reader.buffered === 0;
  }

  destroy(): void {
    for (const socket of [...this.connection.sockets].reverse()) socket.destroy();
  }
}

export type Pop3Spares = SpareUpstreams<UpstreamConfig, Pop3Spare>;

/** Opens a spare: connect, greeting, STLS when configured. */
export async function greetPop3Upstream(upstream: UpstreamConfig, options: UpstreamOptions = {}): Promise<Pop3Spare> {
  const timeouts = { ...DEFAULT_UPSTREAM_TIMEOUTS, ...options.timeouts };
  const connection = await connectUpstream(upstream, options);
  try {
    let conn = reader(connection.socket);
    const greeting = expectOk(await conn.read('greeting', timeouts.stepMs), 'greeting', 'unreachable');
    heardGreeting(upstream, greeting);
    if (upstream.tls === 'starttls') {
      conn.write('STLS\r\n');
      expectOk(await conn.read('STLS', timeouts.stepMs), 'STLS', 'tls');
      if (conn.buffered > 0) throw new UpstreamError('protocol', 'upstream sent data after its STLS answer');
      conn = reader(await connection.startTls(conn.release()));
    }
    return new Pop3Spare(connection, conn, greeting);
  } catch (err) {
    for (const socket of [...connection.sockets].reverse()) socket.destroy();
    throw err;
  }
}

/**
 * The upstream session for a login: on a spare when one is ready, else on a
 * new connection. A spare the upstream dropped in the meantime is retried
 * once on a new connection; the master login's own refusal is not. Only
 * after a success is a spare opened for the next login.
 */
export async function openPop3Session(upstream: UpstreamConfig, login: Pop3UpstreamLogin, log: Logger, spares: Pop3Spares | null): Promise<Socket> {
  const spare = spares?.take(upstream) ?? null;
  let socket: Socket;
  try {
    socket = await openPop3Upstream(upstream, login, log, {}, spare ?? undefined);
  } catch (err) {
    if (!spare || !(err instanceof UpstreamError) || err.reason !== 'unreachable') throw err;
    socket = await openPop3Upstream(upstream, login, log);
  }
  spares?.replenish(upstream);
  return socket;
}

export async function openPop3Upstream(upstream: UpstreamConfig, login: Pop3UpstreamLogin, log: Logger, options: UpstreamOptions = {}, spare?: Pop3Spare): Promise<Socket> {
  const xclientLine = `XCLIENT ADDR=${login.clientIp} PORT=${login.clientPort} SESSION=${login.sessionId}\r\n`;
  const loginLines = (withXclient: boolean, plainResponse: string) => `${withXclient ? xclientLine : ''}AUTH PLAIN ${plainResponse}\r\n`;
  const master = { section: 'pop3', protocol: 'POP3', ...login };
  if (spare) {
    const opened = await openMasterSession(upstream, master, log, options, async ({ timeouts, plainResponse }) => {
      const xclient = offersXclient(spare.greeting);
      // One command per write on a connection past its first packets: Dovecot's two answers to a pipelined
      // XCLIENT and AUTH are small writes, and Nagle on its side holds the second until our delayed ACK
      // of the first (40 ms on Linux) — 43 ms a login where a new connection, still ACKed at once, takes 14
      if (xclient) {
        spare.reader.write(xclientLine);
        expectOk(await spare.reader.read('XCLIENT', timeouts.stepMs), 'XCLIENT', 'refused');
      }
      spare.reader.write(loginLines(false, plainResponse));
      return finishLogin(spare.reader, { sent: false, offered: xclient }, timeouts);
    }, spare.connection);
    return opened.socket;
  }
  const opened = await openMasterSession(upstream, master, log, options, async ({ socket, timeouts, plainResponse, startTls }) => {
    let conn = reader(socket);
    let greeting: string;
    let xclientSent: boolean;
    if (upstream.tls === 'starttls') {
      conn.write('STLS\r\n');
      greeting = expectOk(await conn.read('greeting', timeouts.stepMs), 'greeting', 'unreachable');
      expectOk(await conn.read('STLS', timeouts.stepMs), 'STLS', 'tls');
      // bytes already sent in plaintext would be read as if they came over TLS (CVE-2011-0411 style injection)
      if (conn.buffered > 0) throw new UpstreamError('protocol', 'upstream sent data after its STLS answer');
      conn = reader(await startTls(conn.release()));
      // RFC 2595 has no second greeting: the plaintext one is all there is to judge XCLIENT by
      xclientSent = heardGreeting(upstream, greeting);
      conn.write(loginLines(xclientSent, plainResponse));
    } else {
      const known = xclientOffered.get(upstream);
      if (known === undefined) {
        greeting = expectOk(await conn.read('greeting', timeouts.stepMs), 'greeting', 'unreachable');
        xclientSent = heardGreeting(upstream, greeting);
        conn.write(loginLines(xclientSent, plainResponse));
      } else {
        // as the last greeting said; should this one say otherwise (Dovecot's trusted networks changed), a
        // refused XCLIENT costs only the address it would have logged, and the next connection knows
        xclientSent = known;
        conn.write(loginLines(known, plainResponse));
        greeting = expectOk(await conn.read('greeting', timeouts.stepMs), 'greeting', 'unreachable');
        heardGreeting(upstream, greeting);
      }
    }
    return finishLogin(conn, { sent: xclientSent, offered: offersXclient(greeting) }, timeouts);
  });
  return opened.socket;
}

/** The answers to XCLIENT (when sent) and AUTH PLAIN; the socket, released, right after the login's +OK. */
async function finishLogin(conn: UpstreamReader<string>, xclient: { sent: boolean; offered: boolean }, timeouts: UpstreamTimeouts) {
  if (xclient.sent) {
    const answer = await conn.read('XCLIENT', timeouts.stepMs);
    if (xclient.offered) expectOk(answer, 'XCLIENT', 'refused');
    else if (!isStatus(answer)) throw new UpstreamError('protocol', `upstream answered XCLIENT with ${describe(answer)}`);
  }
  const answer = await conn.read('AUTH', timeouts.authMs);
  if (answer.startsWith('+ ') || answer === '+') throw new UpstreamError('protocol', 'upstream asked for more than one SASL PLAIN response');
  expectOk(answer, 'the master login', 'refused');
  return { socket: conn.release(), value: null, fields: { xclient: xclient.offered } };
}

function offersXclient(greeting: string): boolean {
  return /\[XCLIENT\]/i.test(greeting);
}

function isStatus(line: string): boolean {
  return line === '+OK' || line.startsWith('+OK ') || line === '-ERR' || line.startsWith('-ERR ');
}

function reader(socket: Socket): UpstreamReader<string> {
  const framer = new LineFramer(MAX_RESPONSE_LINE);
  return new UpstreamReader<string>(
    socket,
    {
      push: (chunk) => framer.push(chunk),
      next: () => framer.next()?.toString('latin1') ?? null,
      rest: () => framer.rest(),
      get buffered() {
        return framer.buffered;
      },
    },
    (err) => err instanceof LineTooLongError,
  );
}

/** RFC 2449 §8: "-ERR [resp-code] text", resp-code = resp-level *("/" resp-level), no spaces inside. */
const RESPONSE_CODE = /^-ERR \[([\x21-\x5c\x5e-\x7e]+)\]/;

/**
 * The line when it is +OK; otherwise an UpstreamError of `reason` (a -ERR,
 * with its response code) or 'protocol' (anything else).
 */
function expectOk(line: string, step: string, reason: 'unreachable' | 'tls' | 'refused'): string {
  if (line === '+OK' || line.startsWith('+OK ')) return line;
  if (line === '-ERR' || line.startsWith('-ERR ')) {
    // the upstream's own words for the log; its code ([IN-USE], [AUTH]…) for the front to act on
    const responseCode = RESPONSE_CODE.exec(line)?.[1]?.toUpperCase() ?? null;
    throw new UpstreamError(reason, `upstream refused ${step}: ${describe(line)}`, { responseCode });
  }
  throw new UpstreamError('protocol', `upstream answered ${step} with ${describe(line)}`);
}

/** A short, printable rendering of a server line for errors and logs (never a line we sent). */
function describe(line: string): string {
  const text = line.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}
