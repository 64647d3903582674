import type { Socket } from 'node:net';
import type tls from 'node:tls';
import type { Config } from '../config/load.js';
import type { FrontContext, Surface, SurfaceFactory } from '../front-context.js';
import type { ClientEndpoint } from './client-endpoint.js';
import type { ConnectionGate, ConnectionTicket } from './connection-gate.js';
import { FrontListener, type FrontConnection } from './front-listener.js';
import { NetworkSet } from './networks.js';

/** The keys every line-protocol front has in its section ([imap], [pop3]). */
type FrontSection = Config['imap'] | Config['pop3'];

/** What a connection object of such a front is made from. */
export interface LineFrontConnectionOptions {
  ctx: FrontContext;
  socket: Socket;
  implicitTls: boolean;
  endpoint: ClientEndpoint;
  secureContext: () => tls.SecureContext;
  /** On a plaintext listener a PROXY header from anyone but a trusted proxy is refused; inside TLS it is just bytes. */
  refuseProxyHeader: boolean;
  gate: ConnectionGate;
  ticket: ConnectionTicket;
}

/** What a front's connections share beyond ctx: made when the front starts, closed when it stops. */
export interface FrontShared {
  close(): void;
}

export interface LineFrontSpec<C extends FrontConnection, S extends FrontShared | null = null> {
  name: 'imap' | 'pop3';
  /** For the "listening" log line: "IMAP", "POP3". */
  label: string;
  section(config: Config): FrontSection;
  /** The protocol's "too many connections" line, CRLF included. */
  refusal: string | Buffer;
  /** POP3: its spare upstream connections; IMAP: nothing. */
  shared(ctx: FrontContext): S;
  open(options: LineFrontConnectionOptions & { onClose: (connection: C) => void; shared: S }): C;
}

/**
 * A line-protocol front (IMAP, POP3) as a surface: one FrontListener per
 * `listen` address (plaintext with the protocol's STARTTLS) and per
 * `listen_tls` address (implicit TLS), sharing the front's connection limits.
 * Null when both lists are empty, so the daemon skips it.
 */
export function lineFrontSurface<C extends FrontConnection, S extends FrontShared | null>(spec: LineFrontSpec<C, S>): SurfaceFactory {
  return (ctx) => {
    const section = spec.section(ctx.config);
    return section.listen.length + section.listen_tls.length === 0 ? null : new LineFrontSurface(ctx, spec);
  };
}

class LineFrontSurface<C extends FrontConnection, S extends FrontShared | null> implements Surface {
  readonly name: string;
  readonly #ctx: FrontContext;
  readonly #spec: LineFrontSpec<C, S>;
  readonly #listeners: Array<FrontListener<C>> = [];
  #shared: S | null = null;

  constructor(ctx: FrontContext, spec: LineFrontSpec<C, S>) {
    this.name = spec.name;
    this.#ctx = ctx;
    this.#spec = spec;
  }

  async start(): Promise<void> {
    const ctx = this.#ctx;
    const spec = this.#spec;
    const section = spec.section(ctx.config);
    const secureContext = () => ctx.tls.context;
    const trustedProxies = new NetworkSet(section.trusted_proxies);
    const gate = ctx.connections.gate(spec.name, {
      maxConnections: section.max_connections,
      maxPerNetwork: section.max_connections_per_network,
      maxUnauthenticated: section.max_unauthenticated,
      maxUnauthenticatedPerNetwork: section.max_unauthenticated_per_network,
    });
    const shared = spec.shared(ctx);
    this.#shared = shared;
    const plan = [...section.listen.map((a) => ({ address: a, implicitTls: false })), ...section.listen_tls.map((a) => ({ address: a, implicitTls: true }))];
    for (const { address, implicitTls } of plan) {
      const listener = new FrontListener<C>({
        surface: spec.name,
        log: ctx.log,
        implicitTls,
        secureContext,
        trustedProxies,
        gate,
        idleTimeoutMs: () => spec.section(ctx.config).idle_timeout,
        refusal: spec.refusal,
        open: ({ socket, endpoint, ticket, onClose }) =>
          spec.open({ ctx, socket, implicitTls, endpoint, secureContext, refuseProxyHeader: !implicitTls, gate, ticket, onClose, shared }),
      });
      this.#listeners.push(listener);
      const bound = await listener.listen(address);
      ctx.log.info({ surface: spec.name, listen: bound, tls: implicitTls ? 'implicit' : 'starttls' }, `${spec.label} front listening`);
    }
  }

  stopAccepting(): void {
    for (const listener of this.#listeners) listener.stopAccepting();
  }

  async stop(): Promise<void> {
    this.#shared?.close();
    this.#shared = null;
    await Promise.all(this.#listeners.map((l) => l.close()));
    this.#listeners.length = 0;
  }

  addresses(): string[] {
    return this.#listeners.map((l) => l.address);
  }
}
