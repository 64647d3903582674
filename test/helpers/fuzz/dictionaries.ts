/** The IMAP and POP3 words and sessions the fuzzers build their cases from (the reader, the parser and the live fronts share them). */
import { b64, FUZZ_ADDRESS, FUZZ_WRONG_PASSWORD, PLAIN_WRONG } from './identities.js';

export const IMAP_DICTIONARY = [
  'a', 'A1', '*', '+', 'LOGIN', 'AUTHENTICATE', 'PLAIN', 'LOGIN', 'ID', 'NIL', 'CAPABILITY', 'NOOP', 'XYZZY', 'SELECT', 'STARTTLS',
  'LOGOUT', '"quoted"', '"esc\\"aped\\\\"', '"bad\\escape"', '"unterminated', '(', ')', '((((', '{0}', '{5}', '{3+}', '{4097+}',
  '{70000}', '{99999999999999999999}', '{18446744073709551616+}', '=', 'AGFAYgBj', 'not base64!', '\0', '\r', '\n', '\r\n',
  ' ', '  ', '\t', '\x7f', '\xff\xfe', FUZZ_ADDRESS, `"${FUZZ_WRONG_PASSWORD}"`, FUZZ_WRONG_PASSWORD, PLAIN_WRONG, '~{3}', '[', ']',
  `{${FUZZ_WRONG_PASSWORD.length}+}\r\n${FUZZ_WRONG_PASSWORD}`,
];

/** Sessions real clients send, for the mutations to damage. */
export const IMAP_CORPUS = [
  '1 ID ("name" "Mac OS X Mail" "version" "16.0 (3776.700.51)" "os" "Mac OS X" "os-version" "14.5 (23F79)" "vendor" "Apple Inc.")\r\n',
  '1 authenticate PLAIN\r\nAHVAZXhhbXBsZS5jb20AcA==\r\n',
  'A1 LOGIN "user@example.com" "pa\\"ss\\\\word"\r\n',
  'a LOGIN {16}\r\nuser@example.com {8}\r\npassword\r\n',
  'a LOGIN {16+}\r\nuser@example.com {8+}\r\npassword\r\n',
  'a AUTHENTICATE PLAIN AGRhQGIuYwBw\r\n',
  'b AUTHENTICATE LOGIN\r\n*\r\n',
  'c CAPABILITY\r\nd NOOP\ne STARTTLS\r\nf LOGOUT\r\n',
  'g ID NIL\r\nh ID ((("x")))\r\n',
];

/** POP3 commands before login (and some after it, refused there), their arguments, and bytes a framer must survive. */
export const POP3_DICTIONARY = [
  'CAPA', 'capa', 'STLS', 'USER', 'PASS', 'AUTH', 'AUTH PLAIN', 'AUTH LOGIN', 'AUTH CRAM-MD5', 'NOOP', 'QUIT', 'RETR 1', 'LIST', 'APOP',
  FUZZ_ADDRESS, FUZZ_WRONG_PASSWORD, PLAIN_WRONG, b64(FUZZ_ADDRESS), b64(FUZZ_WRONG_PASSWORD), '*', '=', 'AGFsaWNlAHg=', 'not base64!',
  '\0', '\t', ' ', '\xff\xfe', 'x'.repeat(300),
];

/** Every line the POP3 front may send before login: a status, a SASL challenge, a multi-line body (CAPA, AUTH) or its end. */
export const POP3_WELL_FORMED = /^(\+OK( [ -~]+)?|-ERR( [ -~]+)?|\+ [A-Za-z0-9+/=]*|[A-Z][A-Z0-9 -]*|\.)$/;
