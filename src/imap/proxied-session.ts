/**
 * The IMAP side of a proxied session: the upstream opened with the master
 * login (proxy/upstream.ts), `* BYE` as the goodbye. The relay itself is
 * the shared ProxiedSession.
 */
import type { Socket } from 'node:net';
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { ProxiedSession, type Goodbyes } from '../net/proxied-session.js';
import type { UpstreamError } from '../net/upstream-error.js';
import type { SessionInfo, SessionRegistry } from '../sessions/registry.js';
import { composeStatus } from './compose.js';
import { openUpstream, type UpstreamLogin } from './proxy/upstream.js';
import { BYES } from './replies.js';

export { ProxiedSession, REVOKE_GRACE_MS } from '../net/proxied-session.js';

export interface ImapSessionOptions {
  client: Socket;
  registry: SessionRegistry;
  info: SessionInfo;
  upstream: Config['imap']['upstream'];
  login: UpstreamLogin;
  log: Logger;
}

export type OpenResult =
  | { readonly kind: 'ready'; readonly session: ProxiedSession; readonly capabilities: string[] }
  | { readonly kind: 'failed'; readonly error: UpstreamError }
  | { readonly kind: 'gone' };

const GOODBYES: Goodbyes = { revoked: composeStatus('*', BYES.revoked), shutdown: composeStatus('*', BYES.shutdown) };

export async function openImapSession(o: ImapSessionOptions): Promise<OpenResult> {
  const opened = await ProxiedSession.open({
    client: o.client,
    registry: o.registry,
    info: o.info,
    log: o.log,
    protocol: 'IMAP',
    goodbyes: GOODBYES,
    open: async () => {
      const { socket, capabilities } = await openUpstream(o.upstream, o.login, o.log);
      return { socket, value: capabilities };
    },
  });
  return opened.kind === 'ready' ? { kind: 'ready', session: opened.session, capabilities: opened.value } : opened;
}
