import { astringBytes } from '../parser/index.js';
import { REPLIES } from '../replies.js';
import type { CommandSpec } from './types.js';

/** RFC 9051 6.2.3. Refused with PRIVACYREQUIRED where LOGINDISABLED was advertised. */
export const login: CommandSpec = {
  state: ['not-authenticated'],
  schema: [
    { name: 'user', kind: 'astring' },
    { name: 'password', kind: 'astring', sensitive: true },
  ],
  handler: async (ctx, args) => {
    if (!ctx.credentialsAllowed) return REPLIES.privacyRequired;
    const username = astringBytes(args[0]);
    const password = astringBytes(args[1]);
    // the schema check makes both astrings; this keeps the types honest
    if (!username || !password) return { response: 'BAD', message: 'LOGIN needs a user name and a password' };
    return ctx.login({ username, password, mechanism: 'LOGIN' });
  },
};
