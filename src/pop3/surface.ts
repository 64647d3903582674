import { NetworkSet } from '../net/networks.js';
import { secureContext } from '../net/tls.js';
import type { FrontContext, Surface, SurfaceFactory } from '../surfaces.js';
import { Pop3Listener } from './server.js';

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
  readonly #listeners: Pop3Listener[] = [];

  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
  }

  async start(): Promise<void> {
    const { pop3 } = this.#ctx.config;
    const context = secureContext(this.#ctx.tls);
    const trustedProxies = new NetworkSet(pop3.trusted_proxies);
    const plan = [...pop3.listen.map((a) => ({ address: a, implicitTls: false })), ...pop3.listen_tls.map((a) => ({ address: a, implicitTls: true }))];
    for (const { address, implicitTls } of plan) {
      const listener = new Pop3Listener({ ctx: this.#ctx, implicitTls, secureContext: context, trustedProxies });
      this.#listeners.push(listener);
      const bound = await listener.listen(address);
      this.#ctx.log.info({ surface: 'pop3', listen: bound, tls: implicitTls ? 'implicit' : 'starttls' }, 'POP3 front listening');
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.#listeners.map((l) => l.close()));
    this.#listeners.length = 0;
  }

  addresses(): string[] {
    return this.#listeners.map((l) => l.address);
  }
}
