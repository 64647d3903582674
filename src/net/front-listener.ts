/**
 * One listening socket of a line-protocol front (IMAP, POP3): plaintext
 * (with the protocol's STARTTLS) or implicit TLS. What every such front does
 * before its protocol starts lives here once: who the client is (the TCP peer,
 * or the PROXY header of a trusted proxy), the connection limits (with the
 * protocol's own "try later" line on refusal), the implicit-TLS wrap, and the
 * stop. The front supplies only how to open its connection object.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import { resolveEndpoint, type ClientEndpoint } from './client-endpoint.js';
import type { ConnectionGate, ConnectionTicket } from './connection-gate.js';
import { destroyLater } from './destroy-later.js';
import { closeServer, listenOn } from './listen.js';
import type { NetworkSet } from './networks.js';
import { formatListen } from './address.js';

/** A trusted proxy sends its header at once; waiting longer only holds a socket open. */
const PROXY_HEADER_TIMEOUT_MS = 10_000;
/** After the goodbye, how long a client gets to close before its socket is destroyed at shutdown. */
const SHUTDOWN_GRACE_MS = 200;
/**
 * A refused client gets its goodbye and a moment to read it, but a flood of
 * refused connections must not hold sockets in turn: at most this many linger
 * at once, the rest are closed without a word. An implicit-TLS client can only
 * read it after a handshake, which costs CPU: fewer of those.
 */
const MAX_REFUSALS = { plain: 256, tls: 16 };
const REFUSAL_LINGER_MS = 1_000;
const lingering = { plain: 0, tls: 0 };

/** What a front's connection object must offer the listener. */
export interface FrontConnection {
  start(): void;
  /** Says the protocol's goodbye and ends the connection (shutdown). */
  close(): void;
}

export interface OpenConnection<C> {
  /** The client's stream: the TCP socket, or the TLS socket on an implicit-TLS listener. */
  socket: Socket;
  endpoint: ClientEndpoint;
  ticket: ConnectionTicket;
  /** The connection calls this once it has ended. */
  onClose: (connection: C) => void;
}

export interface FrontListenerOptions<C extends FrontConnection> {
  /** For log lines: "imap", "pop3". */
  readonly surface: string;
  readonly log: Logger;
  readonly implicitTls: boolean;
  /** Read at each handshake: a reloaded certificate reaches new connections. */
  readonly secureContext: () => tls.SecureContext;
  /** Peers whose PROXY header is believed, and required. */
  readonly trustedProxies: NetworkSet;
  /** The front's connection limits, shared by all its listeners. */
  readonly gate: ConnectionGate;
  /** Read per connection: the PROXY header must come sooner than this (and than 10 s). */
  readonly idleTimeoutMs: () => number;
  /** The protocol's "too many connections, try later" line, CRLF included. */
  readonly refusal: string | Buffer;
  open(connection: OpenConnection<C>): C;
}

export class FrontListener<C extends FrontConnection> {
  readonly #o: FrontListenerOptions<C>;
  readonly #server: net.Server;
  readonly #sockets = new Set<Socket>();
  readonly #connections = new Set<C>();
  /** Resolves once the server has closed and every socket it accepted is gone. */
  #closed: Promise<void> | null = null;
  #bound = '';

  constructor(options: FrontListenerOptions<C>) {
    this.#o = options;
    this.#server = net.createServer({ pauseOnConnect: true }, (socket) => {
      this.#accept(socket).catch((err: unknown) => {
        // one broken connection must never take the listener (or the daemon) with it
        options.log.error({ surface: options.surface, err: { message: err instanceof Error ? err.message : String(err) } }, 'connection setup failed');
        socket.destroy();
      });
    });
    this.#server.on('error', (err) => options.log.error({ surface: options.surface, err: { message: err.message } }, 'listener error'));
  }

  get address(): string {
    return this.#bound;
  }

  async listen(address: string): Promise<string> {
    const bound = await listenOn(this.#server, address);
    this.#bound = formatListen(bound);
    return this.#bound;
  }

  /** New connections are refused from now on; the open ones go on until close(). */
  stopAccepting(): void {
    this.#closed ??= closeServer(this.#server);
  }

  /** Stops accepting, says goodbye to every client (proxied or not), and resolves once all sockets are gone. */
  async close(): Promise<void> {
    this.stopAccepting();
    const closed = this.#closed!;
    for (const connection of this.#connections) connection.close();
    const timer = setTimeout(() => {
      for (const socket of this.#sockets) socket.destroy();
    }, SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(timer);
  }

  async #accept(socket: Socket): Promise<void> {
    const { implicitTls, secureContext, trustedProxies } = this.#o;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    // early errors (resets before a connection object exists) must not reach the process
    socket.on('error', () => undefined);
    let endpoint: ClientEndpoint | null;
    try {
      endpoint = await resolveEndpoint(socket, trustedProxies, Math.min(PROXY_HEADER_TIMEOUT_MS, this.#o.idleTimeoutMs()));
    } catch (err) {
      this.#o.log.warn({ surface: this.#o.surface, peer: socket.remoteAddress, err: { message: (err as Error).message } }, 'bad or missing PROXY header from a trusted proxy: connection closed');
      return void socket.destroy();
    }
    if (!endpoint || socket.destroyed) return void socket.destroy();
    const admission = this.#o.gate.admit(endpoint.clientIp);
    if (!admission.ok) return this.#refuse(socket);
    socket.once('close', () => admission.ticket.release());
    const stream = implicitTls ? new tls.TLSSocket(socket, { isServer: true, secureContext: secureContext() }) : socket;
    const connection = this.#o.open({ socket: stream, endpoint, ticket: admission.ticket, onClose: (c) => this.#connections.delete(c) });
    this.#connections.add(connection);
    connection.start();
    stream.resume();
  }

  /** Over a limit: the protocol's refusal (inside TLS on an implicit-TLS listener), then the connection is closed. */
  #refuse(socket: Socket): void {
    const kind = this.#o.implicitTls ? 'tls' : 'plain';
    if (lingering[kind] >= MAX_REFUSALS[kind]) return void socket.destroy();
    lingering[kind]++;
    socket.once('close', () => lingering[kind]--);
    destroyLater(socket, REFUSAL_LINGER_MS);
    if (kind === 'plain') socket.end(this.#o.refusal);
    else {
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: this.#o.secureContext() });
      secure.on('error', () => undefined);
      secure.once('secure', () => secure.end(this.#o.refusal));
    }
    // reading (and dropping) what the client sends lets its close be seen at once, and avoids a reset
    // that would discard the goodbye
    socket.resume();
  }
}
