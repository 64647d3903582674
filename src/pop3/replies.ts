/**
 * The POP3 front's own fixed replies, in one table so tests, docs and code
 * agree. Login failures come from errors/auth-replies.ts, shared by all fronts
 * (the temporary one is picked in login-flow.ts).
 */
import { AUTH_REPLIES } from '../errors/auth-replies.js';
import type { Pop3Status } from './compose.js';
import type { CommandResult } from './commands/types.js';

export const GREETING: Pop3Status = { ok: true, text: 'devicepass ready.' };

const failed = AUTH_REPLIES.failed.pop3;

export const REPLIES = {
  authFailed: { ok: false, code: failed.code, text: failed.text, failedLogin: true },
  privacyRequired: {
    ok: false, code: 'AUTH', text: 'Plaintext authentication refused before TLS: use STLS or port 995 first', failedLogin: true,
  },
  authorizationFailed: { ok: false, code: 'AUTH', text: 'Authorization identity differs from the login', failedLogin: true },
  upstreamUnavailable: { ok: false, code: 'SYS/TEMP', text: 'Mail server temporarily unavailable, try again later' },
  // RFC 2449 §8.1.1, 8.1.2: the upstream's answers about the mailbox, passed on to the client with their code
  mailboxInUse: { ok: false, code: 'IN-USE', text: 'Mailbox in use by another session, try again later' },
  loginDelay: { ok: false, code: 'LOGIN-DELAY', text: 'Logged in too recently, try again later' },
  loggedIn: { ok: true, text: 'Logged in.' },
  userAccepted: { ok: true, text: 'Send your password' },
  noUser: { ok: false, text: 'Send USER first', bad: true },
  unknownCommand: { ok: false, text: 'Unknown command or not valid before login', bad: true },
  commandTooLong: { ok: false, text: 'Command line too long (255 octets at most)', bad: true },
  unsupportedMechanism: { ok: false, text: 'Unsupported authentication mechanism', bad: true },
  authenticateCanceled: { ok: false, text: 'Authentication canceled' },
  tlsActive: { ok: false, text: 'TLS is already active', bad: true },
  beginTls: { ok: true, text: 'Begin TLS negotiation now', after: 'starttls' },
  quit: { ok: true, text: 'devicepass signing off', after: 'close' },
  noop: { ok: true, text: '' },
  internal: { ok: false, code: 'SYS/TEMP', text: 'Internal error, try again later' },
} as const satisfies Record<string, CommandResult>;

/** Lines a connection ends with: written, then the socket closes. */
export const GOODBYES = {
  revoked: { ok: false, code: 'SYS/PERM', text: 'Session revoked by administrator' },
  tooManyConnections: { ok: false, code: 'SYS/TEMP', text: 'Too many connections, try again later' },
  shutdown: { ok: false, code: 'SYS/TEMP', text: 'Server shutting down' },
  idle: { ok: false, text: 'Disconnected for inactivity' },
  loginTimeout: { ok: false, text: 'Login took too long' },
  tooManyBad: { ok: false, text: 'Too many invalid commands' },
  tooManyFailures: { ok: false, code: 'AUTH', text: 'Too many authentication failures' },
  lineTooLong: { ok: false, text: 'Line too long' },
} as const satisfies Record<string, Pop3Status>;
