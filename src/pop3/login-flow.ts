/**
 * What happens between credentials and proxying: the Authenticator decides,
 * the audit-friendly log line is written (never the password), and on
 * success the upstream session is opened under the device's registration.
 */
import { authReply } from '../errors/auth-replies.js';
import type { FrontLoginInput, LoginOutcome as FrontLoginOutcome } from '../net/front-login.js';
import type { Logger } from '../log/logger.js';
import { ProxiedSession, type Goodbyes } from '../net/proxied-session.js';
import type { UpstreamError } from '../net/upstream-error.js';
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
    const result = upstreamRefusal(opened.error, sessionLog);
    // a busy or just-used mailbox ([IN-USE], [LOGIN-DELAY]) is no fault of the upstream's: an alert on these must not fire
    if (!isMailboxRefusal(result)) ctx.tallies.upstreamErrors.add('pop3', opened.error.reason);
    return { kind: 'answer', result };
  }
  sessionLog.info({ device: result.deviceName, mechanism: credentials.mechanism, cached: result.cached }, 'POP3 login: proxying to upstream');
  return { kind: 'proxy', session: opened.session, result: { ...REPLIES.loggedIn, after: 'proxy' } };
}

/** The upstream's response codes about the mailbox rather than the server (RFC 2449 §8.1): the client hears them. */
const MAILBOX_REFUSALS: Readonly<Record<string, CommandResult>> = { 'IN-USE': REPLIES.mailboxInUse, 'LOGIN-DELAY': REPLIES.loginDelay };
/** Codes that will not change by trying again: the master login itself is refused (wrong master credentials, address unknown there). */
const PERMANENT_CODES: ReadonlySet<string> = new Set(['AUTH', 'SYS/PERM']);

/**
 * What the client hears when the upstream session could not be opened, and
 * the log line: a busy or just-used mailbox is the client's news and no
 * fault (info); anything else is "try later" to the client ([SYS/TEMP],
 * never [AUTH]: the device password was right), logged as a warning, or as
 * an error when the refusal is permanent, since that is devicepass's
 * configuration at the upstream and every login will meet it.
 */
function isMailboxRefusal(result: CommandResult): boolean {
  return Object.values(MAILBOX_REFUSALS).includes(result);
}

function upstreamRefusal(error: UpstreamError, log: Logger): CommandResult {
  const code = error.responseCode;
  const fields = { reason: error.reason, ...(code === null ? {} : { code }), err: error.message };
  const mailbox = code === null ? undefined : MAILBOX_REFUSALS[code];
  if (error.reason === 'refused' && mailbox) {
    log.info(fields, 'POP3 login succeeded but the upstream refused the mailbox for now');
    return mailbox;
  }
  if (error.reason === 'refused' && code !== null && PERMANENT_CODES.has(code)) {
    log.error(fields, 'POP3 login succeeded but the upstream refused the master login: check [pop3.upstream] master_user and master_password, and that the address exists there');
  } else {
    log.warn(fields, 'POP3 login succeeded but the upstream session could not be opened');
  }
  return REPLIES.upstreamUnavailable;
}

function decode(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
