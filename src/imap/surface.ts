import { NetworkSet } from '../net/networks.js';
import type { FrontContext, Surface, SurfaceFactory } from '../surfaces.js';
import { FrontListener } from '../net/front-listener.js';
import { composeStatus } from './compose.js';
import { ImapConnection } from './connection.js';
import { BYES } from './replies.js';

/**
 * The IMAP front: one listener per `[imap] listen` address (plaintext with
 * STARTTLS) and per `listen_tls` address (implicit TLS). Null when both
 * lists are empty, so the daemon skips it.
 */
export const imapSurface: SurfaceFactory = (ctx) => {
  const { imap } = ctx.config;
  if (imap.listen.length + imap.listen_tls.length === 0) return null;
  return new ImapSurface(ctx);
};

class ImapSurface implements Surface {
  readonly name = 'imap';
  readonly #ctx: FrontContext;
  readonly #listeners: Array<FrontListener<ImapConnection>> = [];

  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
  }

  async start(): Promise<void> {
    const { imap } = this.#ctx.config;
    const context = () => this.#ctx.tls.context;
    const trustedProxies = new NetworkSet(imap.trusted_proxies);
    const gate = this.#ctx.connections.gate('imap', {
      maxConnections: imap.max_connections,
      maxPerNetwork: imap.max_connections_per_network,
      maxUnauthenticated: imap.max_unauthenticated,
      maxUnauthenticatedPerNetwork: imap.max_unauthenticated_per_network,
    });
    const plan = [...imap.listen.map((a) => ({ address: a, implicitTls: false })), ...imap.listen_tls.map((a) => ({ address: a, implicitTls: true }))];
    for (const { address, implicitTls } of plan) {
      const ctx = this.#ctx;
      const listener = new FrontListener<ImapConnection>({
        surface: 'imap',
        log: ctx.log,
        implicitTls,
        secureContext: context,
        trustedProxies,
        gate,
        idleTimeoutMs: () => ctx.config.imap.idle_timeout,
        refusal: composeStatus('*', BYES.tooManyConnections),
        open: ({ socket, endpoint, ticket, onClose }) =>
          new ImapConnection({
            ctx, socket, implicitTls, endpoint, secureContext: context,
            // inside TLS a PROXY header is just bytes the IMAP parser refuses
            refuseProxyHeader: !implicitTls,
            gate, ticket, onClose,
          }),
      });
      this.#listeners.push(listener);
      const bound = await listener.listen(address);
      this.#ctx.log.info({ surface: 'imap', listen: bound, tls: implicitTls ? 'implicit' : 'starttls' }, 'IMAP front listening');
    }
  }

  stopAccepting(): void {
    for (const listener of this.#listeners) listener.stopAccepting();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#listeners.map((l) => l.close()));
    this.#listeners.length = 0;
  }

  addresses(): string[] {
    return this.#listeners.map((l) => l.address);
  }
}
