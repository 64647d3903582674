import type { CommandSpec } from './types.js';

/**
 * RFC 9051 6.2.1. Bytes already sent behind STARTTLS are refused: they came
 * in plaintext and would otherwise be read as if they arrived over TLS (the
 * STARTTLS command injection attack, CVE-2011-0411 and its IMAP cousins).
 */
export const starttls: CommandSpec = {
  state: ['not-authenticated'],
  schema: [],
  handler: (ctx) => {
    if (ctx.secure) return { response: 'BAD', message: 'TLS is already active' };
    if (!ctx.startTlsAvailable) return { response: 'BAD', message: 'STARTTLS is not available here' };
    if (ctx.pendingInput() > 0) return { response: 'BAD', message: 'STARTTLS must be the last command in a pipeline' };
    return { response: 'OK', message: 'Begin TLS negotiation now', after: 'starttls' };
  },
};
