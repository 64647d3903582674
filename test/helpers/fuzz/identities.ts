/** Who the fuzzers log in as, and the secrets the log check looks for. */
export const FUZZ_ADDRESS = 'alice@example.com';
export const FUZZ_PASSWORD = 'correct horse battery staple';
/** The wrong password every dictionary uses: it must never reach the log either. */
export const FUZZ_WRONG_PASSWORD = 'Wrong-Fuzz-Secret-7q2x';
export const NGINX_SECRET = 'nginx-shared-secret-4k8d';
/** The loopback address the IMAP front trusts to send PROXY headers. */
export const PROXY_PEER = '127.0.0.2';

/** base64 of UTF-8 text, as SASL payloads travel. */
export const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
/** PLAIN messages (empty authzid) with the wrong and the right password. */
export const PLAIN_WRONG = b64(`\0${FUZZ_ADDRESS}\0${FUZZ_WRONG_PASSWORD}`);
export const PLAIN_GOOD = b64(`\0${FUZZ_ADDRESS}\0${FUZZ_PASSWORD}`);
