import { REPLIES } from '../replies.js';
import type { CommandSpec } from './types.js';

/** RFC 2595 §4 STLS: only on a plaintext listener, once. */
export const stls: CommandSpec = {
  state: ['authorization'],
  args: { min: 0, max: 0 },
  handler: (ctx) => (ctx.startTlsAvailable ? REPLIES.beginTls : ctx.secure ? REPLIES.tlsActive : REPLIES.unknownCommand),
};
