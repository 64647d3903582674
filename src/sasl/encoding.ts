/**
 * SASL payloads as every front receives them. Node's base64 decoder silently
 * skips garbage, so the alphabet and padding are checked first: a mangled
 * credential must fail loudly, not decode to something else. (Imported
 * legacy hashes have their own, more lenient decoder: they are often
 * unpadded.)
 */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeSaslBase64(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

/** RFC 4616 PLAIN: [authzid] NUL authcid NUL password, exactly two NULs; null when it is not. */
export function splitPlain(message: Buffer): { authzid: Buffer; authcid: Buffer; password: Buffer } | null {
  const first = message.indexOf(0);
  const second = first < 0 ? -1 : message.indexOf(0, first + 1);
  if (first < 0 || second < 0 || message.indexOf(0, second + 1) >= 0) return null;
  return { authzid: message.subarray(0, first), authcid: message.subarray(first + 1, second), password: message.subarray(second + 1) };
}

/** The LOGIN mechanism's prompts every client expects: base64 of "Username:" and "Password:". */
export const LOGIN_USERNAME_PROMPT = Buffer.from('Username:').toString('base64');
export const LOGIN_PASSWORD_PROMPT = Buffer.from('Password:').toString('base64');
