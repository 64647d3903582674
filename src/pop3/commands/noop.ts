import { REPLIES } from '../replies.js';
import type { CommandSpec } from './types.js';

/** NOOP: harmless before login too (some clients probe with it); it does not count as activity for the login deadline. */
export const noop: CommandSpec = {
  state: ['authorization'],
  args: { min: 0, max: 0 },
  handler: () => REPLIES.noop,
};
