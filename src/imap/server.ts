/**
 * One IMAP listener: plaintext with STARTTLS, or implicit TLS. Decides who
 * the client is (the TCP peer, or the PROXY header of a trusted proxy),
 * wraps implicit TLS, and gives each socket its ImapConnection.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import type { ConnectionGate } from '../net/connection-gate.js';
import { destroyLater } from '../net/destroy-later.js';
import { closeServer, listenOn } from '../net/listen.js';
import type { NetworkSet } from '../net/networks.js';
import { unmapIpv4 } from '../net/networks.js';
import { readProxyHeader } from '../net/proxy-protocol.js';
import type { FrontContext } from '../surfaces.js';
import { composeStatus } from './compose.js';
import { ImapConnection, type ClientEndpoint } from './connection.js';
import { BYES } from './replies.js';

/** A trusted proxy sends its header at once; waiting longer only holds a socket open. */
const PROXY_HEADER_TIMEOUT_MS = 10_000;
/** After the goodbye, how long a client gets to close before its socket is destroyed at shutdown. */
const SHUTDOWN_GRACE_MS = 200;
/**
 * A refused client gets its BYE and a moment to read it, but a flood of refused
 * connections must not hold sockets in turn: at most this many linger at once,
 * the rest are closed without a word. An implicit-TLS client can only read its
 * BYE after a handshake, which costs CPU: fewer of those.
 */
const MAX_REFUSALS = { plain: 256, tls: 16 };
const REFUSAL_LINGER_MS = 1_000;

export interface ImapListenerOptions {
  readonly ctx: FrontContext;
  readonly implicitTls: boolean;
  /** Read at each handshake: a reloaded certificate reaches new connections. */
  readonly secureContext: () => tls.SecureContext;
  /** Peers whose PROXY header is believed, and required. */
  readonly trustedProxies: NetworkSet;
  /** The front's connection limits, shared by all its listeners. */
  readonly gate: ConnectionGate;
}

const lingering = { plain: 0, tls: 0 };

export class ImapListener {
  readonly #o: ImapListenerOptions;
  readonly #server: net.Server;
  readonly #sockets = new Set<Socket>();
  readonly #connections = new Set<ImapConnection>();
  #bound = '';

  constructor(options: ImapListenerOptions) {
    this.#o = options;
    this.#server = net.createServer({ pauseOnConnect: true }, (socket) => {
      this.#accept(socket).catch((err: unknown) => {
        // one broken connection must never take the listener (or the daemon) with it
        options.ctx.log.error({ surface: 'imap', err: { message: err instanceof Error ? err.message : String(err) } }, 'IMAP connection setup failed');
        socket.destroy();
      });
    });
    this.#server.on('error', (err) => options.ctx.log.error({ surface: 'imap', err: { message: err.message } }, 'IMAP listener error'));
  }

  /** Resolves once the server has closed and every socket it accepted is gone. */
  #closed: Promise<void> | null = null;

  get address(): string {
    return this.#bound;
  }

  async listen(address: string): Promise<string> {
    const bound = await listenOn(this.#server, address);
    this.#bound = bound.kind === 'tcp' ? `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}` : bound.path;
    return this.#bound;
  }

  /** New connections are refused from now on; the open ones go on until close(). */
  stopAccepting(): void {
    this.#closed ??= closeServer(this.#server);
  }

  /** Stops accepting, says BYE to every client (proxied or not), and resolves once all sockets are gone. */
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
    const { ctx, implicitTls, secureContext, trustedProxies } = this.#o;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    // early errors (resets before a connection object exists) must not reach the process
    socket.on('error', () => undefined);
    const peer = socket.remoteAddress;
    if (peer === undefined) return void socket.destroy();
    let endpoint: ClientEndpoint = {
      clientIp: unmapIpv4(peer),
      clientPort: socket.remotePort ?? 0,
      localIp: unmapIpv4(socket.localAddress ?? ''),
      localPort: socket.localPort ?? 0,
    };
    if (trustedProxies.has(peer)) {
      try {
        const header = await readProxyHeader(socket, Math.min(PROXY_HEADER_TIMEOUT_MS, ctx.config.imap.idle_timeout));
        if (header.source && header.destination) {
          endpoint = {
            clientIp: unmapIpv4(header.source.address),
            clientPort: header.source.port,
            localIp: unmapIpv4(header.destination.address),
            localPort: header.destination.port,
          };
        }
      } catch (err) {
        ctx.log.warn({ surface: 'imap', peer, err: { message: (err as Error).message } }, 'bad or missing PROXY header from a trusted proxy: connection closed');
        return void socket.destroy();
      }
    }
    if (socket.destroyed) return;
    const admission = this.#o.gate.admit(endpoint.clientIp);
    if (!admission.ok) return this.#refuse(socket);
    socket.once('close', () => admission.ticket.release());
    const stream = implicitTls ? new tls.TLSSocket(socket, { isServer: true, secureContext: secureContext() }) : socket;
    const connection = new ImapConnection({
      ctx,
      socket: stream,
      implicitTls,
      endpoint,
      secureContext,
      // inside TLS a PROXY header is just bytes the IMAP parser refuses
      refuseProxyHeader: !implicitTls,
      gate: this.#o.gate,
      ticket: admission.ticket,
      onClose: (c) => this.#connections.delete(c),
    });
    this.#connections.add(connection);
    connection.start();
    stream.resume();
  }

  /** Over a limit: `* BYE [UNAVAILABLE]` (inside TLS on an implicit-TLS listener), then the connection is closed. */
  #refuse(socket: Socket): void {
    const kind = this.#o.implicitTls ? 'tls' : 'plain';
    if (lingering[kind] >= MAX_REFUSALS[kind]) return void socket.destroy();
    lingering[kind]++;
    socket.once('close', () => lingering[kind]--);
    destroyLater(socket, REFUSAL_LINGER_MS);
    const bye = composeStatus('*', BYES.tooManyConnections);
    if (kind === 'plain') socket.end(bye);
    else {
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: this.#o.secureContext() });
      secure.on('error', () => undefined);
      secure.once('secure', () => secure.end(bye));
    }
    // reading (and dropping) what the client sends lets its close be seen at once, and avoids a reset
    // that would discard the BYE
    socket.resume();
  }
}
