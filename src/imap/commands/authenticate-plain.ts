import { REPLIES } from '../replies.js';
import { isResult, saslStep } from './sasl-input.js';
import type { CommandSpec } from './types.js';

/**
 * RFC 4616 PLAIN inside RFC 9051 6.2.2 AUTHENTICATE, with RFC 4959 SASL-IR.
 * The message is authzid NUL authcid NUL password; an authzid other than
 * the login itself would mean acting as someone else, which we never allow.
 */
export const authenticatePlain: CommandSpec = {
  state: ['not-authenticated'],
  schema: [
    { name: 'mechanism', kind: 'atom' },
    { name: 'initial-response', kind: 'atom', optional: true, sensitive: true },
  ],
  handler: async (ctx, args) => {
    if (!ctx.credentialsAllowed) return REPLIES.privacyRequired;
    const message = await saslStep(ctx, args[1], '');
    if (isResult(message)) return message;
    const first = message.indexOf(0);
    const second = first < 0 ? -1 : message.indexOf(0, first + 1);
    if (first < 0 || second < 0 || message.indexOf(0, second + 1) >= 0) {
      return { response: 'BAD', message: 'Malformed PLAIN message' };
    }
    const authzid = message.subarray(0, first);
    const username = message.subarray(first + 1, second);
    const password = message.subarray(second + 1);
    if (authzid.length > 0 && !authzid.equals(username)) return REPLIES.authorizationFailed;
    return ctx.login({ username, password, mechanism: 'PLAIN' });
  },
};
