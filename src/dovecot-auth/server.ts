import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { LoginAttempt, LoginResult, Protocol } from '../auth/types.js';
import type { Logger } from '../log/logger.js';
import { closeServer, listenOn } from '../net/listen.js';
import { setSocketAccess } from '../net/unix-socket.js';
import { formatHandshake, LineSplitter, ProtocolError } from './codec.js';
import { MECHANISMS } from './mechanisms.js';
import { RequestOrchestrator } from './requests.js';

export interface SaslServerOptions {
  authenticate(attempt: LoginAttempt): Promise<LoginResult>;
  log: Logger;
  /** Unix socket mode, e.g. 0o660. */
  mode: number;
  /** Group name owning Unix sockets; empty keeps the daemon's group. */
  group: string;
  maxPendingPerConnection?: number;
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
    const server = net.createServer((socket) => this.#accept(socket));
    // an accept error (EMFILE) must not become an unhandled 'error' event
    server.on('error', (err) => this.#o.log.error({ err }, 'dovecot-auth: listener error'));
    this.#servers.push(server);
    const bound = await listenOn(server, address);
    let text: string;
    if (bound.kind === 'unix') {
      setSocketAccess(bound.path, this.#o.mode, this.#o.group, 'dovecot_auth.group');
      text = bound.path;
    } else {
      text = bound.host.includes(':') ? `[${bound.host}]:${bound.port}` : `${bound.host}:${bound.port}`;
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

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    const cuid = this.#nextCuid++;
    const log = this.#o.log.child({ surface: 'dovecot-auth', cuid });
    const peerIp = socket.remoteAddress ?? null;
    const splitter = new LineSplitter();
    let outgoing = '';
    const flush = () => {
      if (!socket.destroyed && outgoing !== '') socket.write(outgoing);
      outgoing = '';
    };
    const requests = new RequestOrchestrator({
      authenticate: this.#o.authenticate,
      log,
      peerIp,
      send: (text) => {
        // replies decided in the same turn of the event loop leave in one write: one syscall, not one per login
        if (socket.destroyed) return;
        if (outgoing === '') setImmediate(flush);
        outgoing += text;
      },
      maxPending: this.#o.maxPendingPerConnection,
      onResult: this.#o.onResult,
    });
    socket.setNoDelay(true);
    socket.write(formatHandshake({ mechanisms: MECHANISMS, spid: process.pid, cuid, cookie: randomBytes(16).toString('hex') }));

    socket.on('data', (chunk: Buffer) => {
      try {
        for (const line of splitter.push(chunk)) {
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
      requests.close();
      this.#sockets.delete(socket);
    });
  }
}
