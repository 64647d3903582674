import type { CommandSpec } from './types.js';

/** RFC 9051 6.1.1: the list depends on TLS and trust, so it is computed per call. */
export const capability: CommandSpec = {
  state: ['not-authenticated'],
  schema: [],
  handler: (ctx) => ({
    response: 'OK',
    message: 'Capability completed',
    untagged: [{ name: 'CAPABILITY', values: ctx.capabilities().map((atom) => ({ atom })) }],
  }),
};
