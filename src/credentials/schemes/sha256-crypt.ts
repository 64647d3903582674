import { makeShaCryptScheme } from './sha-crypt.js';

/** {SHA256-CRYPT}: glibc's `$5$`. */
export const sha256Crypt = makeShaCryptScheme('SHA256-CRYPT', '5');
