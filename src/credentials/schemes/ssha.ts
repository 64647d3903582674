import { makeSaltedDigestScheme } from './salted-digest.js';

/** {SSHA}: salted SHA-1 (also OpenLDAP's userPassword format). */
export const ssha = makeSaltedDigestScheme('SSHA', 'sha1', 20);
