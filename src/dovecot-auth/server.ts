import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { LoginAttempt, LoginResult, Protocol } from '../auth/types.js';
import type { Logger } from '../log/logger.js';
import type { ConnectionGate } from '../net/connection-gate.js';
import { closeServer, listenOn } from '../net/listen.js';
import type { NetworkSet } from '../net/networks.js';
import { setSocketAccess } from '../net/unix-socket.js';
import { formatHandshake, LineSplitter, ProtocolError } from './codec.js';
import { MECHANISMS } from './mechanisms.js';
import { RequestOrchestrator } from './requests.js';
import { formatListen } from '../net/address.js';

export interface SaslServerOptions {
  authenticate(attempt: LoginAttempt): Promise<LoginResult>;
  log: Logger;
  /** Unix socket mode, e.g. 0o660. */
  mode: number;
  /** Group name owning Unix sockets; empty keeps the daemon's group. */
  group: string;
  maxPendingPerConnection?: number;
  /** Connections in total and per client network (TCP peers; Unix socket peers count in the total). */
  gate: ConnectionGate;
  /** A connection that stays silent this long while none of its requests is being decided is closed. */
  idleTimeoutMs: number;
  /** Unix socket paths whose clients are exempt from the failure delay and lockout. */
  trustedSockets: ReadonlySet<string>;
  /** TCP peers (by their own address) exempt likewise. */
  trustedPeers: NetworkSet;
  onResult?(protocol: Protocol, result: LoginResult): void;
}

/**
 * The listening side: one net.Server per address, the handshake sent at
 * once on connect, then lines framed and handed to a RequestOrchestrator.
 * A protocol error ends that connection (with a log line), never the daemon.
 */
export class SaslServer {
  readonly #o: SaslServerOptions;
  readonly #servers: net.Server[] = [];
  readonly #sockets = new Set<net.Socket>();
  readonly #bound: string[] = [];
  #nextCuid = 1;

  constructor(options: SaslServerOptions) {
    this.#o = options;
  }

  async listen(address: string): Promise<string> {
    // a Unix socket is trusted as a whole or not at all; a TCP peer by its own address
    const trustedSocket = this.#o.trustedSockets.has(address);
    const server = net.createServer((socket) => this.#accept(socket, trustedSocket));
    // an accept error (EMFILE) must not become an unhandled 'error' event
    server.on('error', (err) => this.#o.log.error({ err }, 'dovecot-auth: listener error'));
    this.#servers.push(server);
    const bound = await listenOn(server, address);
    let text: string;
    if (bound.kind === 'unix') {
      setSocketAccess(bound.path, this.#o.mode, this.#o.group, 'dovecot_auth.group');
      text = bound.path;
    } else {
      text = formatListen(bound);
    }
    this.#bound.push(text);
    this.#o.log.info({ surface: 'dovecot-auth', listen: text }, 'Dovecot SASL service listening');
    return text;
  }

  addresses(): string[] {
    return [...this.#bound];
  }

  get connections(): number {
    return this.#sockets.size;
  }

  async close(): Promise<void> {
    const closing = this.#servers.map((s) => closeServer(s));
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(closing);
  }

  #accept(socket: net.Socket, trustedSocket: boolean): void {
    const peerIp = socket.remoteAddress ?? null;
    const admission = this.#o.gate.admit(peerIp);
    if (!admission.ok) {
      // the protocol has no refusal before the handshake: a closed connection is what an MTA retries
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    const cuid = this.#nextCuid++;
    const log = this.#o.log.child({ surface: 'dovecot-auth', cuid });
    const trusted = trustedSocket || (peerIp !== null && this.#o.trustedPeers.has(peerIp));
    const splitter = new LineSplitter();
    let outgoing = '';
    const idle = setTimeout(() => onIdle(), this.#o.idleTimeoutMs).unref();
    const onIdle = () => {
      // a request waiting for its verdict is not silence; one waiting for the client's CONT is
      if (requests.deciding > 0) return void idle.refresh();
      log.debug('dovecot-auth: idle connection closed');
      this.#o.gate.hit('idle_timeout', peerIp);
      requests.close();
      socket.destroy();
    };
    const flush = () => {
      if (!socket.destroyed && outgoing !== '') socket.write(outgoing);
      outgoing = '';
    };
    const requests = new RequestOrchestrator({
      authenticate: this.#o.authenticate,
      log,
      peerIp,
      trusted,
      send: (text) => {
        // replies decided in the same turn of the event loop leave in one write: one syscall, not one per login
        if (socket.destroyed) return;
        if (outgoing === '') setImmediate(flush);
        outgoing += text;
      },
      maxPending: this.#o.maxPendingPerConnection,
      onTooManyPending: () => this.#o.gate.hit('pending_requests', peerIp),
      onResult: this.#o.onResult,
    });
    socket.setNoDelay(true);
    socket.write(formatHandshake({ mechanisms: MECHANISMS, spid: process.pid, cuid, cookie: randomBytes(16).toString('hex') }));

    socket.on('data', (chunk: Buffer) => {
      try {
        const lines = splitter.push(chunk);
        // silence is measured between whole lines: a byte now and then does not keep a connection open
        if (lines.length > 0) idle.refresh();
        for (const line of lines) {
          if (socket.destroyed) return;
          requests.handleLine(line);
        }
      } catch (err) {
        if (!(err instanceof ProtocolError)) log.error({ err }, 'dovecot-auth: unexpected error, closing the connection');
        else log.warn({ peer: peerIp ?? 'unix', error: err.message }, 'dovecot-auth: protocol error, closing the connection');
        requests.close();
        socket.destroy();
      }
    });
    socket.on('error', (err) => log.debug({ err }, 'dovecot-auth: connection error'));
    socket.on('close', () => {
      clearTimeout(idle);
      admission.ticket.release();
      requests.close();
      this.#sockets.delete(socket);
    });
  }
}
