/**
 * What happens between credentials and proxying: the Authenticator decides,
 * the audit-friendly log line is written (never the password), and on
 * success the upstream session is opened under the device's registration.
 */
import { authReply } from '../errors/auth-replies.js';
import type { FrontLoginInput, LoginOutcome as FrontLoginOutcome } from '../net/front-login.js';
import { ProxiedSession, type Goodbyes } from '../net/proxied-session.js';
import type { CommandResult, Credentials } from './commands/types.js';
import { composeStatus } from './compose.js';
import { GOODBYES, REPLIES } from './replies.js';
import { openPop3Session, type Pop3Spares } from './upstream.js';

export type LoginFlowInput = FrontLoginInput;
export type LoginOutcome = FrontLoginOutcome<CommandResult>;

const SESSION_GOODBYES: Goodbyes = { revoked: composeStatus(GOODBYES.revoked), shutdown: composeStatus(GOODBYES.shutdown) };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function runLogin(input: LoginFlowInput, credentials: Credentials, spares: Pop3Spares | null = null): Promise<LoginOutcome> {
  const { ctx, endpoint } = input;
  const address = decode(credentials.username);
  const password = decode(credentials.password);
  if (address === undefined || password === undefined) {
    input.log().info({ mechanism: credentials.mechanism, reason: 'malformed' }, 'POP3 login failed: credentials are not UTF-8');
    return { kind: 'answer', result: REPLIES.authFailed };
  }
  const result = await ctx.authenticator.authenticate({ address, password, protocol: 'pop3', clientIp: endpoint.clientIp, trusted: input.trusted, clientName: null });
  if (!input.isOpen()) return { kind: 'gone' };
  if (!result.ok) {
    input.log().info({ address: address.slice(0, 256), mechanism: credentials.mechanism, reason: result.reason }, 'POP3 login failed');
    const reply = authReply(result).pop3;
    return { kind: 'answer', result: { ok: false, code: reply.code, text: reply.text, failedLogin: !result.temporary } };
  }
  const sessionLog = input.sessionLog({ address: result.address, deviceId: result.deviceId });
  const opened = await ProxiedSession.open({
    client: input.client,
    registry: ctx.registry,
    info: { address: result.address, deviceId: result.deviceId, deviceName: result.deviceName, protocol: 'pop3', clientIp: endpoint.clientIp, clientName: null, since: Date.now() },
    log: sessionLog,
    protocol: 'POP3',
    goodbyes: SESSION_GOODBYES,
    open: async () => {
      const login = { address: result.address, clientIp: endpoint.clientIp, clientPort: endpoint.clientPort, sessionId: input.sessionId };
      return { socket: await openPop3Session(ctx.config.pop3.upstream, login, sessionLog, spares), value: null };
    },
  });
  if (opened.kind === 'gone' || (opened.kind === 'ready' && !input.isOpen())) {
    if (opened.kind === 'ready') opened.session.abandon();
    return { kind: 'gone' };
  }
  if (opened.kind === 'failed') {
    sessionLog.warn({ reason: opened.error.reason, err: opened.error.message }, 'POP3 login succeeded but the upstream session could not be opened');
    return { kind: 'answer', result: REPLIES.upstreamUnavailable };
  }
  sessionLog.info({ device: result.deviceName, mechanism: credentials.mechanism, cached: result.cached }, 'POP3 login: proxying to upstream');
  return { kind: 'proxy', session: opened.session, result: { ...REPLIES.loggedIn, after: 'proxy' } };
}

function decode(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
