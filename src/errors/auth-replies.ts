import type { LoginFail } from '../auth/types.js';

/**
 * What a failed login looks like on each wire. Clients only learn "failed"
 * or "try again later"; the exact reason stays in the audit log. Every front
 * answers through this table so the surfaces agree.
 */
export const AUTH_REPLIES = {
  failed: {
    imap: { response: 'NO', code: 'AUTHENTICATIONFAILED', text: 'Authentication failed' },
    pop3: { code: 'AUTH', text: 'Authentication failed' },
    smtp: { code: 535, enhanced: '5.7.8', text: 'Authentication credentials invalid' },
    sasl: { reason: 'Authentication failed', temporary: false },
    nginx: { status: 'Invalid login or password', smtpErrorCode: '535 5.7.8' },
    checkpassword: { exit: 1 },
  },
  temporary: {
    imap: { response: 'NO', code: 'UNAVAILABLE', text: 'Authentication temporarily unavailable, try again later' },
    pop3: { code: 'SYS/TEMP', text: 'Authentication temporarily unavailable, try again later' },
    smtp: { code: 454, enhanced: '4.7.0', text: 'Temporary authentication failure' },
    sasl: { reason: 'Temporary authentication failure', temporary: true },
    nginx: { status: 'Temporary authentication failure', smtpErrorCode: '454 4.7.0' },
    checkpassword: { exit: 111 },
  },
} as const;

export function authReply(result: LoginFail) {
  return result.temporary ? AUTH_REPLIES.temporary : AUTH_REPLIES.failed;
}
