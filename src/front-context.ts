import type { Authenticator } from './auth/authenticator.js';
import type { Config } from './config/load.js';
import type { InvitationService } from './invitations/service.js';
import type { Logger } from './log/logger.js';
import type { ConnectionGates } from './net/connection-gate.js';
import type { NetworkSet } from './net/networks.js';
import type { HealthReport } from './monitoring/health.js';
import type { Tally } from './monitoring/tally.js';
import type { TlsCredentials } from './net/tls.js';
import type { SessionRegistry } from './sessions/registry.js';

/**
 * What every protocol front receives: the Authenticator to decide logins,
 * the session registry to register sessions under their device (so a
 * revocation can cut them), the trusted networks (a front decides from its
 * transport whether a client is in them: LoginAttempt.trusted), and
 * the TLS material. Fronts know nothing of SQL or hashing.
 */
export interface FrontContext {
  config: Config;
  log: Logger;
  authenticator: Authenticator;
  registry: SessionRegistry;
  /** Invitation links, for the self-service setup pages. */
  invitations: InvitationService;
  /**
   * A guessed link (an unknown invitation token, a spent profile download)
   * counts as a failed login of the client's network; returns the delay its
   * answer should wait, as a failed login's would.
   */
  linkGuessed(ip: string): number;
  /** `[auth] trusted_networks`: plaintext logins allowed, exempt from the throttle. */
  trustedNetworks: NetworkSet;
  /** The current certificate: read `context` at each handshake, so a reload reaches new connections. */
  tls: TlsCredentials;
  /** Where each front gets its connection limits from (one gate per front), read by /metrics. */
  connections: ConnectionGates;
  /** Every part that serves a login, for /healthz. */
  health: () => HealthReport;
  /** Counts fronts add to and /metrics reads: upstream failures by front and reason, reloads by outcome. */
  tallies: { upstreamErrors: Tally; reloads: Tally };
  /** The store's own figures for /metrics: login records dropped, whether the disk reserve is held. */
  storeStats: () => StoreStats;
}

export interface StoreStats {
  loginRecordsDropped: number;
  diskReserveHeld: boolean | null;
}

/** A listening surface (IMAP, POP3, SMTP, Dovecot SASL, HTTP, web): started after the control socket, stopped before the store closes. */
export interface Surface {
  readonly name: string;
  start(): Promise<void>;
  /** Stops accepting, then ends live sessions; resolves when all sockets are closed. */
  stop(): Promise<void>;
  /** A graceful stop begins: refuse new connections, keep the open ones (stop() ends them). */
  stopAccepting?(): void;
  /** Work a graceful stop waits for before stop(), e.g. SMTP messages between DATA and the upstream's verdict. */
  busy?(): number;
  /** The configuration was reloaded (ctx.config is the new one): take up what this surface had copied from the old. */
  reload?(): void;
  /** Bound addresses, for status and for tests that listen on port 0. */
  addresses(): string[];
}

export type SurfaceFactory = (ctx: FrontContext) => Surface | null;
