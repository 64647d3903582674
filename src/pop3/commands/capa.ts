import type { CommandSpec } from './types.js';

/** RFC 2449 CAPA: the list depends on TLS and trust (capabilities.ts). */
export const capa: CommandSpec = {
  state: ['authorization'],
  args: { min: 0, max: 0 },
  handler: (ctx) => ({ ok: true, text: 'Capability list follows', lines: ctx.capabilities() }),
};
