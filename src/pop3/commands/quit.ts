import { REPLIES } from '../replies.js';
import type { CommandSpec } from './types.js';

/** RFC 1939 §6 QUIT in the AUTHORIZATION state: goodbye, nothing to update. */
export const quit: CommandSpec = {
  state: ['authorization'],
  args: { min: 0, max: 0 },
  handler: () => REPLIES.quit,
};
