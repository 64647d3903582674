import { makeShaCryptScheme } from './sha-crypt.js';

/** {SHA512-CRYPT}: glibc's `$6$`, Dovecot's recommended crypt scheme for years. */
export const sha512Crypt = makeShaCryptScheme('SHA512-CRYPT', '6');
