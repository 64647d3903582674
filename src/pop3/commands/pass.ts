import { REPLIES } from '../replies.js';
import type { CommandSpec } from './types.js';

/** RFC 1939 §7 PASS: the whole rest of the line is the password, spaces included. One try per USER. */
export const pass: CommandSpec = {
  state: ['authorization'],
  args: { min: 1, max: 1, rest: true, sensitive: [0] },
  handler: (ctx, args) => {
    if (!ctx.credentialsAllowed) return REPLIES.privacyRequired;
    const username = ctx.pendingUser;
    const password = args[0];
    if (!username || !password) return REPLIES.noUser;
    ctx.setPendingUser(null);
    return ctx.login({ username, password, mechanism: 'USER' });
  },
};
