import { authzidPermitted } from '../../sasl/authzid.js';
import { splitPlain } from '../../sasl/encoding.js';
import { REPLIES } from '../replies.js';
import { isResult, saslStep } from './sasl-step.js';
import type { CommandSpec } from './types.js';

/**
 * RFC 4616 PLAIN inside RFC 5034 AUTH, with or without the initial response.
 * The message is authzid NUL authcid NUL password; an authzid other than
 * the login itself would mean acting as someone else, which we never allow.
 */
export const authPlain: CommandSpec = {
  state: ['authorization'],
  args: { min: 1, max: 2, sensitive: [1] },
  handler: async (ctx, args) => {
    if (!ctx.credentialsAllowed) return REPLIES.privacyRequired;
    const message = await saslStep(ctx, args[1], '');
    if (isResult(message)) return message;
    const plain = splitPlain(message);
    if (!plain) return { ok: false, text: 'Malformed PLAIN message', bad: true };
    if (!authzidPermitted(plain.authzid, plain.authcid)) return REPLIES.authorizationFailed;
    return ctx.login({ username: plain.authcid, password: plain.password, mechanism: 'PLAIN' });
  },
};
