import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { equalDigests } from './constant-time.js';
import { parsedScheme } from './parsed-scheme.js';
import type { LegacyScheme } from './types.js';

/**
 * {PBKDF2}: Dovecot's own format, `$1$salt$rounds$hex`, as written by
 * `doveadm pw -s PBKDF2` (e.g. `$1$OLU1jI8F2ISTIDv0$5000$94e1…a912`):
 * PBKDF2-HMAC-SHA1 with the salt text used as is (its ASCII bytes, not
 * decoded), `rounds` iterations (5000 by default) and a 20-byte key in hex.
 * Not to be confused with passlib's `$pbkdf2$`, which is a different format.
 *
 * crypto.pbkdf2 runs on libuv's thread pool.
 */
const derive = promisify(pbkdf2);

const KEY_BYTES = 20;
// ~1 µs a round here: 5 million is seconds per login, far above any real
// setting, and stops a bad import from pinning the thread pool.
const MAX_ROUNDS = 5_000_000;

// Salt: printable ASCII except '$' and ':' (Dovecot writes 16 of [./0-9A-Za-z]).
const FORMAT = /^\$1\$([\x21-\x23\x25-\x39\x3b-\x7e]{1,64})\$([0-9]{1,10})\$([0-9a-fA-F]*)$/;

function parse(encoded: string): { salt: string; rounds: number; key: Buffer } | string {
  const m = FORMAT.exec(encoded);
  if (!m) return 'expected $1$salt$rounds$hex';
  const [, salt = '', roundsText = '', hex = ''] = m;
  if (hex.length !== KEY_BYTES * 2) return `key must be ${KEY_BYTES * 2} hex digits`;
  const rounds = Number(roundsText);
  if (rounds < 1 || rounds > MAX_ROUNDS) return `rounds must be between 1 and ${MAX_ROUNDS}`;
  return { salt, rounds, key: Buffer.from(hex, 'hex') };
}

export const pbkdf2Scheme: LegacyScheme = parsedScheme({ name: 'PBKDF2', weak: false }, parse, async (parsed, password) => {
  const computed = await derive(password, Buffer.from(parsed.salt, 'latin1'), parsed.rounds, KEY_BYTES, 'sha1');
  return equalDigests(computed, parsed.key);
});
