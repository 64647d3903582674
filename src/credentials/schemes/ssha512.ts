import { makeSaltedDigestScheme } from './salted-digest.js';

/** {SSHA512}: salted SHA-512. */
export const ssha512 = makeSaltedDigestScheme('SSHA512', 'sha512', 64);
