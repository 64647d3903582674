import { REPLIES } from '../replies.js';
import type { CommandSpec } from './types.js';

/**
 * RFC 1939 §7 USER: remembers the name for PASS. Refused where plaintext
 * credentials are (before TLS, outside trusted networks), so the client
 * learns it must STLS before it sends the password.
 */
export const user: CommandSpec = {
  state: ['authorization'],
  args: { min: 1, max: 1, rest: true },
  handler: (ctx, args) => {
    if (!ctx.credentialsAllowed) return REPLIES.privacyRequired;
    ctx.setPendingUser(args[0] ?? null);
    return REPLIES.userAccepted;
  },
};
