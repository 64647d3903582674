/**
 * What a line-protocol front's login flow (IMAP, POP3) gets from its
 * connection and gives back: the protocol's own flow decides with the
 * Authenticator, opens the upstream session and words the answer.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { FrontContext } from '../front-context.js';
import type { ClientEndpoint } from './client-endpoint.js';
import type { ProxiedSession } from './proxied-session.js';

export interface FrontLoginInput {
  readonly ctx: FrontContext;
  /** The connection's logger, made on first use. */
  readonly log: () => Logger;
  /** A logger with the connection's fields and these: one child for the session, not a child of a child. */
  readonly sessionLog: (fields: { address: string; deviceId: number }) => Logger;
  readonly endpoint: ClientEndpoint;
  /** Decided from the transport (socket address or a trusted proxy's header), never from what the client says. */
  readonly trusted: boolean;
  readonly client: Socket;
  readonly sessionId: string;
  /** False once the client left (or was closed) while we waited. */
  readonly isOpen: () => boolean;
}

/** `R`: the protocol's command result. */
export type LoginOutcome<R> =
  | { readonly kind: 'answer'; readonly result: R }
  | { readonly kind: 'proxy'; readonly result: R; readonly session: ProxiedSession }
  /** Revoked or disconnected meanwhile: nothing more to say. */
  | { readonly kind: 'gone' };
