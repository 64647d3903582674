import { makeArgon2Scheme } from './argon2-phc.js';

/** {ARGON2I}: Dovecot ≥ 2.3 with libsodium. */
export const argon2i = makeArgon2Scheme('ARGON2I', 'argon2i');
