import { decodeSaslResponse, nodeText, type ImapNode } from '../parser/index.js';
import { REPLIES } from '../replies.js';
import type { CommandContext, CommandResult } from './types.js';

/**
 * One client step of a SASL exchange: the SASL-IR argument when there is
 * one, else the answer to a `+` challenge. Returns the bytes, or the tagged
 * result that ends the command (cancel, bad base64, line too long).
 */
export async function saslStep(ctx: CommandContext, initial: ImapNode | undefined, prompt: string): Promise<Buffer | CommandResult> {
  const r = initial ? decodeSaslResponse(nodeText(initial) ?? '', true) : await ctx.challenge(prompt);
  if (r.kind === 'cancel') return REPLIES.authenticateCanceled;
  if (r.kind === 'error') return { response: 'BAD', message: r.error };
  return r.data;
}

export function isResult(v: Buffer | CommandResult): v is CommandResult {
  return !Buffer.isBuffer(v);
}
