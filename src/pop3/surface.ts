import { NetworkSet } from '../net/networks.js';
import type { FrontContext, Surface, SurfaceFactory } from '../surfaces.js';
import { FrontListener } from '../net/front-listener.js';
import { composeStatus } from './compose.js';
import { Pop3Connection } from './connection.js';
import { GOODBYES } from './replies.js';

/**
 * The POP3 front: one listener per `[pop3] listen` address (plaintext with
 * STLS) and per `listen_tls` address (implicit TLS). Null when both lists
 * are empty, so the daemon skips it.
 */
export const pop3Surface: SurfaceFactory = (ctx) => {
  const { pop3 } = ctx.config;
  if (pop3.listen.length + pop3.listen_tls.length === 0) return null;
  return new Pop3Surface(ctx);
};

class Pop3Surface implements Surface {
  readonly name = 'pop3';
  readonly #ctx: FrontContext;
  readonly #listeners: Array<FrontListener<Pop3Connection>> = [];

  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
  }

  async start(): Promise<void> {
    const { pop3 } = this.#ctx.config;
    const context = () => this.#ctx.tls.context;
    const trustedProxies = new NetworkSet(pop3.trusted_proxies);
    const gate = this.#ctx.connections.gate('pop3', {
      maxConnections: pop3.max_connections,
      maxPerNetwork: pop3.max_connections_per_network,
      maxUnauthenticated: pop3.max_unauthenticated,
      maxUnauthenticatedPerNetwork: pop3.max_unauthenticated_per_network,
    });
    const plan = [...pop3.listen.map((a) => ({ address: a, implicitTls: false })), ...pop3.listen_tls.map((a) => ({ address: a, implicitTls: true }))];
    for (const { address, implicitTls } of plan) {
      const ctx = this.#ctx;
      const listener = new FrontListener<Pop3Connection>({
        surface: 'pop3',
        log: ctx.log,
        implicitTls,
        secureContext: context,
        trustedProxies,
        gate,
        idleTimeoutMs: () => ctx.config.pop3.idle_timeout,
        refusal: composeStatus(GOODBYES.tooManyConnections),
        open: ({ socket, endpoint, ticket, onClose }) =>
          new Pop3Connection({
            ctx, socket, implicitTls, endpoint, secureContext: context,
            // inside TLS a PROXY header is just bytes the command gate refuses
            refuseProxyHeader: !implicitTls,
            gate, ticket, onClose,
          }),
      });
      this.#listeners.push(listener);
      const bound = await listener.listen(address);
      this.#ctx.log.info({ surface: 'pop3', listen: bound, tls: implicitTls ? 'implicit' : 'starttls' }, 'POP3 front listening');
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
