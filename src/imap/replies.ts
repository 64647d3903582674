/**
 * The IMAP front's own fixed replies, in one table so tests, docs and code
 * agree. Login failures come from errors/auth-replies.ts, shared by all fronts.
 */
import type { StatusResponse } from './compose.js';
import type { CommandResult } from './commands/types.js';

export const GREETING_TEXT = 'devicepass ready';

export const REPLIES = {
  privacyRequired: {
    response: 'NO', code: { name: 'PRIVACYREQUIRED' }, message: 'Plaintext login refused: use STARTTLS or port 993 first', failedLogin: true,
  },
  upstreamUnavailable: {
    response: 'NO', code: { name: 'UNAVAILABLE' }, message: 'Mail server temporarily unavailable, try again later',
  },
  unknownCommand: { response: 'BAD', message: 'Unknown command or not valid before login' },
  unsupportedMechanism: { response: 'NO', code: { name: 'CANNOT' }, message: 'Unsupported authentication mechanism' },
  authenticateCanceled: { response: 'BAD', message: 'Authentication canceled' },
  authorizationFailed: {
    response: 'NO', code: { name: 'AUTHORIZATIONFAILED' }, message: 'Authorization identity differs from the login', failedLogin: true,
  },
  internal: { response: 'NO', code: { name: 'SERVERBUG' }, message: 'Internal error, try again later' },
} as const satisfies Record<string, CommandResult>;

export const BYES = {
  logout: { response: 'BYE', message: 'devicepass logging out' },
  idle: { response: 'BYE', message: 'Autologout; idle too long' },
  tooManyBad: { response: 'BYE', message: 'Too many invalid commands' },
  tooManyFailures: { response: 'BYE', message: 'Too many authentication failures' },
  revoked: { response: 'BYE', message: 'Session revoked by administrator' },
  shutdown: { response: 'BYE', code: { name: 'UNAVAILABLE' }, message: 'Server shutting down' },
  inputLimit: { response: 'BYE', message: 'Too much invalid input' },
  loginTimeout: { response: 'BYE', message: 'Login took too long' },
  tooManyConnections: { response: 'BYE', code: { name: 'UNAVAILABLE' }, message: 'Too many connections, try again later' },
} as const satisfies Record<string, StatusResponse>;
