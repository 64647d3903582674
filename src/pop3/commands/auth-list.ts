import { SASL_MECHANISMS } from './index.js';
import type { CommandSpec } from './types.js';

/**
 * AUTH without a mechanism: the mechanisms, one a line. Not in RFC 5034,
 * but Outlook asks this way before it picks one (the older RFC 1734 usage),
 * and Dovecot answers it too. Empty where plaintext credentials are refused.
 */
export const authList: CommandSpec = {
  state: ['authorization'],
  args: { min: 0, max: 0 },
  // SASL_MECHANISMS is read at call time: the table imports this file
  handler: (ctx) => ({ ok: true, text: 'Mechanisms follow', lines: ctx.credentialsAllowed ? [...SASL_MECHANISMS] : [] }),
};
