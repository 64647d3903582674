import { equalSecrets } from './constant-time.js';
import type { LegacyScheme } from './types.js';

/**
 * {PLAIN} (also {CLEAR}, {CLEARTEXT}): the password itself. Imported only so
 * users can log in once and be moved to a real hash; marked weak. The
 * `.B64`/`.HEX` encodings are undone by the registry before we see the text.
 */
export const plain: LegacyScheme = {
  name: 'PLAIN',
  aliases: ['CLEAR', 'CLEARTEXT'],
  weak: true,
  check(encoded) {
    // An empty stored password would let anyone in with an empty one.
    if (encoded.length === 0) return 'password is empty';
    // Clients cannot send NUL (SASL PLAIN uses it as the separator), so such
    // a stored password could never match.
    if (encoded.includes('\0')) return 'password contains a NUL character';
    return null;
  },
  async verify(encoded, password) {
    if (plain.check(encoded) !== null) return false;
    return equalSecrets(Buffer.from(encoded, 'utf8'), password);
  },
};
