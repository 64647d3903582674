/**
 * The node:http / node:https servers of the HTTP surfaces (metrics and
 * auth_http, the self-service web pages), one per listen address, behind the
 * shared connection gate: a connection over the total or per-network limit
 * is refused before node:http reads a byte of it, so one network cannot hold
 * every socket of a surface.
 */
import type http from 'node:http';
import type https from 'node:https';
import type net from 'node:net';
import { formatListen } from './address.js';
import type { ConnectionGate } from './connection-gate.js';
import { closeServer, listenOn } from './listen.js';

export interface HttpListenersOptions {
  gate: ConnectionGate;
  /**
   * Written to a refused connection before the close: HTTP's own "try later"
   * on a plaintext port; null on a TLS port, where nothing readable can be
   * said before a handshake (the socket is closed).
   */
  refusal: string | null;
}

export class HttpListeners<S extends http.Server | https.Server> {
  readonly #gate: ConnectionGate;
  readonly #refusal: string | null;
  readonly #servers: S[] = [];
  readonly #bound: string[] = [];
  /** Refused connections whose request node:http may still parse: never served. */
  readonly #refused = new WeakSet<net.Socket>();

  constructor(options: HttpListenersOptions) {
    this.#gate = options.gate;
    this.#refusal = options.refusal;
  }

  /** Binds a server made by `create` to each address; resolves with the bound addresses as text. */
  async listen(addresses: readonly string[], create: () => S): Promise<string[]> {
    const bound: string[] = [];
    for (const address of addresses) {
      const server = create();
      // node:http (and tls before it) has taken the socket by now, but has read nothing from it
      server.on('connection', (socket: net.Socket) => this.#admit(socket));
      this.#servers.push(server);
      bound.push(formatListen(await listenOn(server, address)));
    }
    this.#bound.push(...bound);
    return bound;
  }

  /**
   * Whether the request came on a connection the gate refused (its answer is
   * on its way: serve nothing). Plain HTTP only: node:http may parse what a
   * refused client sent with its request before the 503 closes it; a refused
   * TLS connection is destroyed before any handshake, so nothing is parsed.
   */
  refused(req: http.IncomingMessage): boolean {
    return this.#refused.has(req.socket);
  }

  get servers(): readonly S[] {
    return this.#servers;
  }

  addresses(): string[] {
    return [...this.#bound];
  }

  async stop(): Promise<void> {
    const closing = this.#servers.map((s) => closeServer(s));
    for (const s of this.#servers) s.closeAllConnections();
    await Promise.all(closing);
  }

  #admit(socket: net.Socket): void {
    const admission = this.#gate.admit(socket.remoteAddress ?? null);
    if (admission.ok) {
      socket.once('close', () => admission.ticket.release());
      return;
    }
    this.#refused.add(socket);
    socket.on('error', () => undefined);
    if (this.#refusal === null) socket.destroy();
    else socket.end(this.#refusal, () => socket.destroy());
  }
}
