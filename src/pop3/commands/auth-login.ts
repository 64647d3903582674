import { LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT } from '../../sasl/encoding.js';
import { REPLIES } from '../replies.js';
import { isResult, saslStep } from './sasl-step.js';
import type { CommandSpec } from './types.js';

/**
 * The (obsolete, still common: Outlook) LOGIN SASL mechanism: user name,
 * then password, each base64 on its own line; the user name may come as the
 * initial response.
 */
export const authLogin: CommandSpec = {
  state: ['authorization'],
  args: { min: 1, max: 2, sensitive: [1] },
  handler: async (ctx, args) => {
    if (!ctx.credentialsAllowed) return REPLIES.privacyRequired;
    const username = await saslStep(ctx, args[1], LOGIN_USERNAME_PROMPT);
    if (isResult(username)) return username;
    const password = await saslStep(ctx, undefined, LOGIN_PASSWORD_PROMPT);
    if (isResult(password)) return password;
    return ctx.login({ username, password, mechanism: 'SASL-LOGIN' });
  },
};
