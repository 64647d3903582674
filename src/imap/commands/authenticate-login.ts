import { REPLIES } from '../replies.js';
import { isResult, saslStep } from './sasl-input.js';
import type { CommandSpec } from './types.js';

/** The prompts every LOGIN-mechanism client expects, base64 of "Username:" and "Password:". */
export const USERNAME_PROMPT = Buffer.from('Username:').toString('base64');
export const PASSWORD_PROMPT = Buffer.from('Password:').toString('base64');

/**
 * The (obsolete, still common) LOGIN SASL mechanism: user name, then
 * password, each base64 on its own line. With SASL-IR the user name may come
 * along with the command.
 */
export const authenticateLogin: CommandSpec = {
  state: ['not-authenticated'],
  schema: [
    { name: 'mechanism', kind: 'atom' },
    { name: 'initial-response', kind: 'atom', optional: true, sensitive: true },
  ],
  handler: async (ctx, args) => {
    if (!ctx.credentialsAllowed) return REPLIES.privacyRequired;
    const username = await saslStep(ctx, args[1], USERNAME_PROMPT);
    if (isResult(username)) return username;
    const password = await saslStep(ctx, undefined, PASSWORD_PROMPT);
    if (isResult(password)) return password;
    return ctx.login({ username, password, mechanism: 'SASL-LOGIN' });
  },
};
