import type { Authenticator } from './auth/authenticator.js';
import { dovecotAuthSurface } from './dovecot-auth/surface.js';
import { httpSurface } from './http/surface.js';
import { imapSurface } from './imap/surface.js';
import { smtpSurface } from './smtp/surface.js';
import { webSurface } from './web/surface.js';
import type { Throttle } from './auth/throttle.js';
import type { Config } from './config/load.js';
import type { InvitationService } from './invitations/service.js';
import type { Logger } from './log/logger.js';
import type { TlsMaterial } from './net/tls.js';
import type { SessionRegistry } from './sessions/registry.js';

/**
 * What every protocol front receives: the Authenticator to decide logins,
 * the session registry to register sessions under their device (so a
 * revocation can cut them), the throttle for the trusted-network check, and
 * the TLS material. Fronts know nothing of SQL or hashing.
 */
export interface FrontContext {
  config: Config;
  log: Logger;
  authenticator: Authenticator;
  registry: SessionRegistry;
  throttle: Throttle;
  tls: TlsMaterial;
  /** Invitation links, for the self-service setup pages. */
  invitations: InvitationService;
  /** A cheap read of the store, for health checks. */
  storeHealthy: () => boolean;
}

/** A listening surface (IMAP, SMTP, Dovecot SASL, HTTP, web): started after the control socket, stopped before the store closes. */
export interface Surface {
  readonly name: string;
  start(): Promise<void>;
  /** Stops accepting, then ends live sessions; resolves when all sockets are closed. */
  stop(): Promise<void>;
  /** Bound addresses, for status and for tests that listen on port 0. */
  addresses(): string[];
}

export type SurfaceFactory = (ctx: FrontContext) => Surface | null;

/**
 * The fronts this build serves, in start order. Each factory returns null
 * when its configuration disables it (an empty `listen` list).
 */
export const SURFACES: readonly SurfaceFactory[] = [imapSurface, smtpSurface, dovecotAuthSurface, httpSurface, webSurface];
