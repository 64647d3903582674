import { BYES } from '../replies.js';
import type { CommandSpec } from './types.js';

/** RFC 9051 6.1.3: untagged BYE, then the tagged OK, then the server closes. */
export const logout: CommandSpec = {
  state: ['not-authenticated'],
  schema: [],
  handler: () => ({ response: 'OK', message: 'LOGOUT completed', bye: BYES.logout, after: 'close' }),
};
