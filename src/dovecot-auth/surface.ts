import { NetworkSet } from '../net/networks.js';
import type { FrontContext, Surface, SurfaceFactory } from '../front-context.js';
import { SaslServer } from './server.js';

/**
 * The Dovecot SASL protocol service (Postfix `smtpd_sasl_type = dovecot`,
 * Exim's dovecot authenticator, the checkpassword program) on every
 * `[dovecot_auth] listen` address.
 */
export const dovecotAuthSurface: SurfaceFactory = (ctx) => (ctx.config.dovecot_auth.listen.length === 0 ? null : new DovecotAuthSurface(ctx));

class DovecotAuthSurface implements Surface {
  readonly name = 'dovecot_auth';
  readonly #ctx: FrontContext;
  readonly #server: SaslServer;

  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
    const config = ctx.config.dovecot_auth;
    this.#server = new SaslServer({
      authenticate: (attempt) => ctx.authenticator.authenticate(attempt),
      log: ctx.log,
      mode: parseInt(config.mode, 8),
      group: config.group,
      maxPendingPerConnection: config.max_pending_per_connection,
      gate: ctx.connections.gate('dovecot_auth', { maxConnections: config.max_connections, maxPerNetwork: config.max_connections_per_network }),
      idleTimeoutMs: config.idle_timeout,
      trustedSockets: new Set(config.trusted_sockets),
      trustedPeers: new NetworkSet(config.trusted_peers),
    });
  }

  async start(): Promise<void> {
    for (const address of this.#ctx.config.dovecot_auth.listen) await this.#server.listen(address);
  }

  stop(): Promise<void> {
    return this.#server.close();
  }

  addresses(): string[] {
    return this.#server.addresses();
  }
}
