/**
 * Every reply this front writes itself, with its enhanced status code (RFC 3463)
 * in the text. smtp-server's own automatic enhanced codes stay off: its table
 * would put 5.1.3 on a 553 policy refusal and prefix the upstream's replies a
 * second time. Authentication replies come from errors/auth-replies.ts.
 */
export interface FrontReply {
  readonly code: number;
  readonly text: string;
}

export const SMTP_REPLIES = {
  encryptionRequired: { code: 538, text: '5.7.11 Encryption required for requested authentication mechanism' },
  authRequired: { code: 530, text: '5.7.0 Authentication required' },
  authzidRefused: { code: 535, text: '5.7.8 Authentication credentials invalid' },
  tooManyAuthFailures: { code: 421, text: '4.7.0 Too many authentication failures, closing connection' },
  senderRefused: { code: 553, text: '5.7.1 Sender address rejected: not owned by the authenticated user' },
  upstreamUnavailable: { code: 451, text: '4.4.1 Upstream mail server unavailable, try again later' },
  upstreamMisconfigured: { code: 451, text: '4.3.5 Upstream mail server does not accept XCLIENT from this relay' },
  messageTooBig: { code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' },
  sessionRevoked: { code: 421, text: '4.7.0 Session revoked by administrator' },
  shuttingDown: { code: 421, text: '4.3.2 Service shutting down' },
  tooManyConnections: { code: 421, text: '4.7.0 Too many connections, try again later' },
  loginTimeout: { code: 421, text: '4.7.0 Login took too long, closing connection' },
  internal: { code: 451, text: '4.3.0 Internal error, try again later' },
} as const satisfies Record<string, FrontReply>;

/** An error smtp-server turns into the reply `code text`. */
export function replyError(reply: FrontReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}
