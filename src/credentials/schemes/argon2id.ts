import { makeArgon2Scheme } from './argon2-phc.js';

/** {ARGON2ID}: Dovecot ≥ 2.3 with libsodium, and Node's argon2 package. */
export const argon2id = makeArgon2Scheme('ARGON2ID', 'argon2id');
