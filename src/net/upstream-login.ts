/**
 * What the IMAP and POP3 master logins at the upstream share around their
 * conversation: the timeouts, the checks on the master credentials, the
 * connection (TLS from the start when implicit), the SASL PLAIN response,
 * and one failure path (every socket destroyed, an UpstreamError, a debug
 * line). The protocol supplies the conversation itself.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import { connectTcp, startTls, type UpstreamTlsOptions } from './upstream-connect.js';
import { UpstreamError } from './upstream-error.js';
import { formatHostPort } from './address.js';

export interface UpstreamTimeouts {
  connectMs: number;
  /** Each ordinary step: greeting, STARTTLS/STLS, CAPABILITY, ID, XCLIENT. */
  stepMs: number;
  /** The master login: Dovecot answers a failed one only after its failure delay and per-IP penalty (up to ~15 s). */
  authMs: number;
}

export const DEFAULT_UPSTREAM_TIMEOUTS: Readonly<UpstreamTimeouts> = { connectMs: 5_000, stepMs: 10_000, authMs: 30_000 };

export interface UpstreamOptions extends UpstreamTlsOptions {
  timeouts?: Partial<UpstreamTimeouts>;
}

/** An [imap.upstream] or [pop3.upstream] section. */
export interface MasterUpstream {
  readonly host: string;
  readonly port: number;
  readonly tls: 'none' | 'starttls' | 'implicit';
  readonly master_user: string;
  readonly master_password: string;
}

export interface MasterLogin {
  /** "imap", "pop3": the config section, in errors. */
  readonly section: string;
  /** "IMAP", "POP3": in log lines. */
  readonly protocol: string;
  readonly address: string;
  readonly sessionId: string;
}

/** The protocol's part, on the connected socket (TLS already when implicit). */
export interface Conversation {
  readonly socket: Socket;
  readonly timeouts: UpstreamTimeouts;
  /** AUTH PLAIN's response: authzid = the address, authcid = the master user (RFC 4616), base64. */
  readonly plainResponse: string;
  /** Wraps `socket` in TLS to the upstream after STARTTLS/STLS, its certificate verified; a failure later destroys it too. */
  startTls(socket: Socket): Promise<Socket>;
}

/** The logged-in socket, positioned right after the login's answer, and what the protocol learnt; `fields` go in the debug line. */
export interface Opened<T> {
  readonly socket: Socket;
  readonly value: T;
  readonly fields?: Record<string, unknown>;
}

/** A connection to the upstream, TLS already when implicit; `sockets` lists every layer for a failure to destroy. */
export interface UpstreamConnection {
  readonly socket: Socket;
  readonly sockets: Socket[];
  /** Wraps a layer in TLS to the upstream (after STARTTLS/STLS) and records it in `sockets`. */
  startTls(socket: Socket): Promise<Socket>;
}

/** Connects to the upstream (TLS from the start when implicit); on failure nothing is left open. */
export async function connectUpstream(upstream: MasterUpstream, options: UpstreamOptions): Promise<UpstreamConnection> {
  const timeouts = { ...DEFAULT_UPSTREAM_TIMEOUTS, ...options.timeouts };
  const sockets: Socket[] = [await connectTcp(upstream.host, upstream.port, timeouts.connectMs)];
  const wrap = async (socket: Socket): Promise<Socket> => {
    const secure = await startTls(socket, upstream.host, options, timeouts.connectMs);
    sockets.push(secure);
    return secure;
  };
  try {
    const socket = upstream.tls === 'implicit' ? await wrap(sockets[0]!) : sockets[0]!;
    return { socket, sockets, startTls: wrap };
  } catch (err) {
    for (const socket of sockets.reverse()) socket.destroy();
    throw err;
  }
}

/**
 * The master login: on a new connection, or on `prepared` (a spare already
 * connected and greeted, see spare-upstreams.ts), whose layers a failure
 * destroys just the same.
 */
export async function openMasterSession<T>(
  upstream: MasterUpstream,
  login: MasterLogin,
  log: Logger,
  options: UpstreamOptions,
  converse: (c: Conversation) => Promise<Opened<T>>,
  prepared?: UpstreamConnection,
): Promise<Opened<T>> {
  const timeouts = { ...DEFAULT_UPSTREAM_TIMEOUTS, ...options.timeouts };
  const started = performance.now();
  const where = formatHostPort(upstream.host, upstream.port);
  const refusal = upstream.master_user === ''
    ? `no [${login.section}.upstream] master_user is configured`
    : [login.address, upstream.master_user, upstream.master_password].some((s) => s.includes('\0'))
      ? 'a NUL in the address or master credentials cannot be sent in SASL PLAIN'
      : null;
  if (refusal) {
    for (const socket of prepared?.sockets ?? []) socket.destroy();
    throw new UpstreamError('refused', refusal);
  }
  const connection = prepared ?? (await connectUpstream(upstream, options));
  try {
    const plainResponse = Buffer.from(`${login.address}\0${upstream.master_user}\0${upstream.master_password}`, 'utf8').toString('base64');
    const opened = await converse({ socket: connection.socket, timeouts, plainResponse, startTls: connection.startTls });
    log.debug({ upstream: where, address: login.address, session: login.sessionId, spare: prepared !== undefined, ...opened.fields, ms: Math.round(performance.now() - started) }, `upstream ${login.protocol} session open`);
    return opened;
  } catch (err) {
    for (const socket of [...connection.sockets].reverse()) socket.destroy();
    const failure = err instanceof UpstreamError ? err : new UpstreamError('protocol', `upstream login failed: ${String(err)}`, { cause: err });
    log.debug({ upstream: where, address: login.address, session: login.sessionId, reason: failure.reason, err: failure.message }, `upstream ${login.protocol} session failed`);
    throw failure;
  }
}
