/**
 * What happens between credentials and proxying: the Authenticator decides,
 * the audit-friendly log line is written (never the password), and on
 * success the upstream session is opened under the device's registration.
 */
import { AUTH_REPLIES, authReply } from '../errors/auth-replies.js';
import type { FrontLoginInput, LoginOutcome as FrontLoginOutcome } from '../net/front-login.js';
import type { CommandResult, Credentials } from './commands/types.js';
import { openImapSession } from './proxied-session.js';
import { REPLIES } from './replies.js';

export interface LoginFlowInput extends FrontLoginInput {
  /** The client's IMAP ID fields, if it sent them. */
  readonly clientId: Record<string, string> | null;
}

export type LoginOutcome = FrontLoginOutcome<CommandResult>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function runLogin(input: LoginFlowInput, credentials: Credentials): Promise<LoginOutcome> {
  const { ctx, endpoint } = input;
  const clientName = clientNameOf(input.clientId);
  const address = decode(credentials.username);
  const password = decode(credentials.password);
  if (address === undefined || password === undefined) {
    input.log().info({ mechanism: credentials.mechanism, reason: 'malformed' }, 'IMAP login failed: credentials are not UTF-8');
    const failed = AUTH_REPLIES.failed.imap;
    return { kind: 'answer', result: { response: 'NO', code: { name: failed.code }, message: failed.text, failedLogin: true } };
  }
  const result = await ctx.authenticator.authenticate({ address, password, protocol: 'imap', clientIp: endpoint.clientIp, trusted: input.trusted, clientName });
  if (!input.isOpen()) return { kind: 'gone' };
  if (!result.ok) {
    const reply = authReply(result).imap;
    // the Authenticator logs every result at info; this adds the mechanism for debugging
    input.log().debug({ address: address.slice(0, 256), mechanism: credentials.mechanism, reason: result.reason }, 'IMAP login failed');
    return { kind: 'answer', result: { response: 'NO', code: { name: reply.code }, message: reply.text, failedLogin: !result.temporary } };
  }
  const sessionLog = input.sessionLog({ address: result.address, deviceId: result.deviceId });
  const opened = await openImapSession({
    client: input.client,
    registry: ctx.registry,
    info: { address: result.address, deviceId: result.deviceId, deviceName: result.deviceName, protocol: 'imap', clientIp: endpoint.clientIp, clientName, since: Date.now() },
    upstream: ctx.config.imap.upstream,
    login: { address: result.address, ...endpoint, clientId: input.clientId, sessionId: input.sessionId },
    log: sessionLog,
  });
  if (opened.kind === 'gone' || (opened.kind === 'ready' && !input.isOpen())) {
    if (opened.kind === 'ready') opened.session.abandon();
    return { kind: 'gone' };
  }
  if (opened.kind === 'failed') {
    ctx.tallies.upstreamErrors.add('imap', opened.error.reason);
    sessionLog.warn({ reason: opened.error.reason, err: opened.error.message }, 'IMAP login succeeded but the upstream session could not be opened');
    return { kind: 'answer', result: REPLIES.upstreamUnavailable };
  }
  sessionLog.info({ device: result.deviceName, mechanism: credentials.mechanism, clientName, cached: result.cached }, 'IMAP login: proxying to upstream');
  return {
    kind: 'proxy',
    session: opened.session,
    result: { response: 'OK', code: { name: 'CAPABILITY', args: opened.capabilities }, message: 'Logged in', after: 'proxy' },
  };
}

/** "name version" from IMAP ID, as the device's last client. */
export function clientNameOf(fields: Record<string, string> | null): string | null {
  const name = fields?.name;
  if (name === undefined) return null;
  const version = fields?.version;
  return (version === undefined ? name : `${name} ${version}`).slice(0, 200);
}

function decode(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
