import { equalDigests } from './constant-time.js';
import { shaCryptDigest } from './sha-crypt-worker.js';
import { parsedScheme } from './parsed-scheme.js';
import type { LegacyScheme } from './types.js';

/**
 * Shared parsing for SHA256-CRYPT ($5$) and SHA512-CRYPT ($6$):
 * `$id$[rounds=N$]salt$digest`, salt 1–16 characters.
 */

const DEFAULT_ROUNDS = 5000;
// The spec clamps requests below 1000 and writes rounds=1000 in the output, so
// a stored value below that (or with leading zeros) was never made by crypt()
// and would not verify in Dovecot either.
const MIN_ROUNDS = 1000;
// The spec allows up to 999,999,999; at ~2.7 µs per round that is 45 minutes
// of CPU per login. One million (~3 s) covers every real configuration
// (passlib's default is 656,000) and stops a bad import from pinning workers.
const MAX_ROUNDS = 1_000_000;

interface Parsed {
  readonly rounds: number;
  readonly salt: string;
  readonly digest: string;
}

function parse(id: '5' | '6', encoded: string): Parsed | string {
  const digestChars = id === '6' ? 86 : 43;
  const prefix = `$${id}$`;
  if (!encoded.startsWith(prefix)) return `must start with ${prefix}`;
  // Salt: printable ASCII except '$' and ':' (the passwd-file separator).
  const m = /^(?:rounds=([0-9]+)\$)?([\x21-\x23\x25-\x39\x3b-\x7e]{1,16})\$([./0-9A-Za-z]*)$/.exec(
    encoded.slice(prefix.length),
  );
  if (!m) return 'expected [rounds=N$]salt$digest with a salt of 1 to 16 characters';
  const [, roundsText, salt = '', digest = ''] = m;
  if (digest.length !== digestChars) return `digest must be ${digestChars} characters`;
  let rounds = DEFAULT_ROUNDS;
  if (roundsText !== undefined) {
    if (!/^[1-9][0-9]{0,9}$/.test(roundsText)) return 'rounds must be a decimal number without leading zeros';
    rounds = Number(roundsText);
    if (rounds < MIN_ROUNDS || rounds > MAX_ROUNDS) {
      return `rounds must be between ${MIN_ROUNDS} and ${MAX_ROUNDS}`;
    }
  }
  return { rounds, salt, digest };
}

export function makeShaCryptScheme(name: string, id: '5' | '6'): LegacyScheme {
  const alg = id === '6' ? 'sha512' : 'sha256';
  return parsedScheme({ name, weak: false }, (encoded) => parse(id, encoded), async (parsed, password) => {
    const computed = await shaCryptDigest(alg, password, parsed.salt, parsed.rounds);
    return equalDigests(Buffer.from(computed, 'latin1'), Buffer.from(parsed.digest, 'latin1'));
  });
}
