import { argon2idRaw } from './argon2-raw.js';

export interface HashParams {
  memoryKib: number;
  iterations: number;
  parallelism: number;
}

export const DIGEST_BYTES = 32;
export const SALT_BYTES = 16;

/** Stored beside each digest so a change of parameters never strands old passwords. */
export function formatParams(p: HashParams): string {
  return `m=${p.memoryKib},t=${p.iterations},p=${p.parallelism}`;
}

export function parseParams(text: string): HashParams {
  const fields = new Map(text.split(',').map((kv) => kv.split('=') as [string, string]));
  const memoryKib = Number(fields.get('m'));
  const iterations = Number(fields.get('t'));
  const parallelism = Number(fields.get('p'));
  if (![memoryKib, iterations, parallelism].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`malformed hash parameters: ${text}`);
  }
  return { memoryKib, iterations, parallelism };
}

/**
 * argon2id(normalized password, address salt): the raw digest a device
 * password is stored and looked up by. Runs on libuv's thread pool.
 */
export async function computeDigest(normalizedPassword: string, salt: Buffer, params: HashParams): Promise<Buffer> {
  return argon2idRaw(normalizedPassword, salt, params, DIGEST_BYTES);
}
