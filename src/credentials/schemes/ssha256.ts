import { makeSaltedDigestScheme } from './salted-digest.js';

/** {SSHA256}: salted SHA-256. */
export const ssha256 = makeSaltedDigestScheme('SSHA256', 'sha256', 32);
