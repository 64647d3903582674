import { authzidPermitted } from '../../sasl/authzid.js';
import { splitPlain } from '../../sasl/encoding.js';
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
    const plain = splitPlain(message);
    if (!plain) return { response: 'BAD', message: 'Malformed PLAIN message' };
    if (!authzidPermitted(plain.authzid, plain.authcid)) return REPLIES.authorizationFailed;
    return ctx.login({ username: plain.authcid, password: plain.password, mechanism: 'PLAIN' });
  },
};
