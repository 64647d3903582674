import { decodeSaslResponse } from '../../sasl/response.js';
import { REPLIES } from '../replies.js';
import type { CommandContext, CommandResult } from './types.js';

/**
 * One client step of a SASL exchange (RFC 5034 §4): the initial response
 * when the AUTH line carried one ("=" is the empty one), else the answer to a
 * `+` challenge. Returns the bytes, or the result that ends the command
 * (cancel, bad base64, line too long).
 */
export async function saslStep(ctx: CommandContext, initial: Buffer | undefined, challenge: string): Promise<Buffer | CommandResult> {
  const r = initial ? decodeSaslResponse(initial, true) : await ctx.challenge(challenge);
  if (r.kind === 'cancel') return REPLIES.authenticateCanceled;
  if (r.kind === 'error') return { ok: false, text: r.error, bad: true };
  return r.data;
}

export function isResult(v: Buffer | CommandResult): v is CommandResult {
  return !Buffer.isBuffer(v);
}
