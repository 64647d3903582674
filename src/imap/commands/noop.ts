import type { CommandSpec } from './types.js';

/** RFC 9051 6.1.2. Resets the idle timer like any input; nothing else to report before login. */
export const noop: CommandSpec = {
  state: ['not-authenticated'],
  schema: [],
  handler: () => ({ response: 'OK', message: 'NOOP completed' }),
};
