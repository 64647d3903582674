/**
 * One POP3 listener: plaintext with STLS (110-style), or implicit TLS
 * (995-style). Accepting is kept to one small method — who the client is
 * (net/client-endpoint.ts), the TLS wrap, the connection object — so a
 * shared accept-side policy (connection limits) can wrap it as it does the
 * other fronts.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { resolveEndpoint } from '../net/client-endpoint.js';
import { closeServer, listenOn } from '../net/listen.js';
import type { NetworkSet } from '../net/networks.js';
import type { FrontContext } from '../surfaces.js';
import { Pop3Connection } from './connection.js';

/** A trusted proxy sends its header at once; waiting longer only holds a socket open. */
const PROXY_HEADER_TIMEOUT_MS = 10_000;
/** After the goodbye, how long a client gets to close before its socket is destroyed at shutdown. */
const SHUTDOWN_GRACE_MS = 200;

export interface Pop3ListenerOptions {
  readonly ctx: FrontContext;
  readonly implicitTls: boolean;
  readonly secureContext: tls.SecureContext;
  /** Peers whose PROXY header is believed, and required. */
  readonly trustedProxies: NetworkSet;
}

export class Pop3Listener {
  readonly #o: Pop3ListenerOptions;
  readonly #server: net.Server;
  readonly #sockets = new Set<Socket>();
  readonly #connections = new Set<Pop3Connection>();
  #bound = '';

  constructor(options: Pop3ListenerOptions) {
    this.#o = options;
    this.#server = net.createServer({ pauseOnConnect: true }, (socket) => {
      this.#accept(socket).catch((err: unknown) => {
        // one broken connection must never take the listener (or the daemon) with it
        options.ctx.log.error({ surface: 'pop3', err: { message: err instanceof Error ? err.message : String(err) } }, 'POP3 connection setup failed');
        socket.destroy();
      });
    });
    this.#server.on('error', (err) => options.ctx.log.error({ surface: 'pop3', err: { message: err.message } }, 'POP3 listener error'));
  }

  get address(): string {
    return this.#bound;
  }

  async listen(address: string): Promise<string> {
    const bound = await listenOn(this.#server, address);
    this.#bound = bound.kind === 'tcp' ? `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}` : bound.path;
    return this.#bound;
  }

  /** Stops accepting, says goodbye to every client (proxied or not), and resolves once all sockets are gone. */
  async close(): Promise<void> {
    const closed = closeServer(this.#server);
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
    let endpoint;
    try {
      endpoint = await resolveEndpoint(socket, trustedProxies, Math.min(PROXY_HEADER_TIMEOUT_MS, ctx.config.pop3.idle_timeout));
    } catch (err) {
      ctx.log.warn({ surface: 'pop3', peer: socket.remoteAddress, err: { message: (err as Error).message } }, 'bad or missing PROXY header from a trusted proxy: connection closed');
      return void socket.destroy();
    }
    if (!endpoint || socket.destroyed) return void socket.destroy();
    const stream = implicitTls ? new tls.TLSSocket(socket, { isServer: true, secureContext }) : socket;
    const connection = new Pop3Connection({
      ctx,
      socket: stream,
      implicitTls,
      endpoint,
      secureContext,
      // inside TLS a PROXY header is just bytes the command gate refuses
      refuseProxyHeader: !implicitTls,
      onClose: (c) => this.#connections.delete(c),
    });
    this.#connections.add(connection);
    connection.start();
    stream.resume();
  }
}
