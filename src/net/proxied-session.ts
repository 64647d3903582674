/**
 * One logged-in client handed to its upstream, for any line protocol the
 * fronts proxy (IMAP, POP3): registered under its device so a revocation can
 * cut it, then relayed both ways with backpressure until either side closes.
 * The protocol supplies how the upstream is opened and its goodbye lines.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { SessionInfo, SessionRegistry } from '../sessions/registry.js';
import { destroyLater } from './destroy-later.js';
import { UpstreamError } from './upstream-error.js';

/** How long a goodbye gets to reach the client before both sockets are destroyed regardless. */
export const REVOKE_GRACE_MS = 50;

/** The lines (CRLF included) a client gets when its session is cut. */
export interface Goodbyes {
  readonly revoked: Buffer;
  readonly shutdown: Buffer;
}

export interface ProxiedSessionOptions<T> {
  client: Socket;
  registry: SessionRegistry;
  info: SessionInfo;
  log: Logger;
  /** "IMAP", "POP3": for log lines. */
  protocol: string;
  goodbyes: Goodbyes;
  /** Opens the upstream, logged in; rejects with UpstreamError. `value` is whatever the protocol learnt (IMAP: capabilities). */
  open: () => Promise<{ socket: Socket; value: T }>;
}

export type OpenResult<T> =
  | { readonly kind: 'ready'; readonly session: ProxiedSession; readonly value: T }
  | { readonly kind: 'failed'; readonly error: UpstreamError }
  /** Revoked, or the client went away, while the upstream was being opened: nothing more to say. */
  | { readonly kind: 'gone' };

export class ProxiedSession {
  readonly #client: Socket;
  readonly #log: Logger;
  readonly #protocol: string;
  readonly #goodbyes: Goodbyes;
  #upstream: Socket | null = null;
  #unregister: (() => void) | null = null;
  #ended = false;
  /** Whether the last byte sent to the client ended a line, so a goodbye never lands mid-line. */
  #atLineStart = true;

  private constructor(client: Socket, log: Logger, protocol: string, goodbyes: Goodbyes) {
    this.#client = client;
    this.#log = log;
    this.#protocol = protocol;
    this.#goodbyes = goodbyes;
  }

  /**
   * Registers the session first, so a revocation that lands while the
   * upstream is still being opened cuts it too, then opens the upstream.
   */
  static async open<T>(o: ProxiedSessionOptions<T>): Promise<OpenResult<T>> {
    const session = new ProxiedSession(o.client, o.log, o.protocol, o.goodbyes);
    session.#unregister = o.registry.register(o.info, (reason) => session.revoke(reason));
    let upstream: Socket;
    let value: T;
    try {
      ({ socket: upstream, value } = await o.open());
    } catch (err) {
      const revoked = session.#ended;
      session.#finish();
      if (revoked || o.client.destroyed) return { kind: 'gone' };
      const error = err instanceof UpstreamError ? err : new UpstreamError('protocol', String(err), { cause: err });
      return { kind: 'failed', error };
    }
    upstream.on('error', (err) => o.log.debug({ err: { message: err.message } }, 'upstream socket error'));
    if (session.#ended || o.client.destroyed) {
      upstream.destroy();
      session.#finish();
      return { kind: 'gone' };
    }
    session.#upstream = upstream;
    return { kind: 'ready', session, value };
  }

  /**
   * Starts relaying, after the login's answer went to the client. `pending`
   * is what the client pipelined behind its login: it belongs to the upstream.
   *
   * A 'data' handler per direction that pauses the source while the other
   * side's buffer is full, rather than Readable.pipe(): the same
   * backpressure at a fraction of pipe()'s per-chunk and per-session cost,
   * which counts when every login is a new session (docs/benchmarks/imap.md).
   */
  pipe(pending: Buffer): void {
    const client = this.#client;
    const upstream = this.#upstream;
    if (!upstream || this.#ended) return;
    if (client.destroyed || upstream.destroyed) return this.#end('closed during the hand-off');
    client.once('close', () => this.#end('client closed'));
    upstream.once('close', () => this.#end('upstream closed'));
    if (pending.length > 0) upstream.write(pending);
    client.on('data', this.#fromClient);
    upstream.on('data', this.#fromUpstream);
    // a 'data' listener alone does not restart a stream that was paused explicitly (the login flow pauses the client)
    client.resume();
    upstream.resume();
    // a half-close is passed on; the 'close' handlers above then end the session
    client.once('end', () => endOnce(upstream));
    upstream.once('end', () => endOnce(client));
  }

  readonly #fromClient = (chunk: Buffer): void => {
    const upstream = this.#upstream;
    if (!upstream || upstream.write(chunk)) return;
    this.#client.pause();
    upstream.once('drain', () => this.#client.resume());
  };

  readonly #fromUpstream = (chunk: Buffer): void => {
    if (chunk.length > 0) this.#atLineStart = chunk[chunk.length - 1] === 0x0a;
    if (this.#client.write(chunk)) return;
    const upstream = this.#upstream;
    upstream?.pause();
    this.#client.once('drain', () => upstream?.resume());
  };

  /** The registry's close: the revoked goodbye wherever the session is (IMAP IDLE included), both sockets gone within REVOKE_GRACE_MS. */
  revoke(reason: string): void {
    if (this.#ended) return;
    this.#log.info({ reason }, `${this.#protocol} session revoked`);
    this.#unregister = null; // the registry already forgot us
    this.#goodbye(this.#goodbyes.revoked);
  }

  /** Server shutdown: the same goodbye as a revocation, with its own text. */
  shutdown(): void {
    if (this.#ended) return;
    this.#finish();
    this.#goodbye(this.#goodbyes.shutdown);
  }

  /** Stops relaying, drops the upstream, and ends the client with `line` — on a line of its own. */
  #goodbye(line: Buffer): void {
    this.#ended = true;
    const client = this.#client;
    const upstream = this.#upstream;
    if (upstream) {
      upstream.off('data', this.#fromUpstream);
      client.off('data', this.#fromClient);
      upstream.destroy();
    }
    if (client.destroyed) return;
    client.end(this.#atLineStart ? line : Buffer.concat([Buffer.from('\r\n'), line]), () => client.destroy());
    destroyLater(client, REVOKE_GRACE_MS);
  }

  /** The client went away before the hand-off: drop the upstream and the registration. */
  abandon(): void {
    this.#finish();
    this.#upstream?.destroy();
  }

  get ended(): boolean {
    return this.#ended;
  }

  #end(why: string): void {
    if (!this.#ended) this.#log.debug({ why }, `${this.#protocol} session ended`);
    this.#finish();
    this.#upstream?.destroy();
    // let what the upstream said last reach the client, then close
    if (!this.#client.destroyed) {
      endOnce(this.#client);
      destroyLater(this.#client, 1000);
    }
  }

  #finish(): void {
    this.#ended = true;
    const unregister = this.#unregister;
    this.#unregister = null;
    unregister?.();
  }
}

/** end() on a socket already ending builds an ERR_STREAM_ALREADY_FINISHED error for nothing; every session close would pay for it. */
function endOnce(socket: Socket): void {
  if (!socket.writableEnded) socket.end();
}
