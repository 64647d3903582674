/** The IMAP words and sessions the fuzzers build their cases from (the reader, the parser and the live front share them). */
import { FUZZ_ADDRESS, FUZZ_WRONG_PASSWORD, PLAIN_WRONG } from './identities.js';

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
