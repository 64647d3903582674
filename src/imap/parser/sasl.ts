/**
 * SASL response lines (RFC 3501 AUTHENTICATE continuation, RFC 4959 SASL-IR).
 * Node's base64 decoder silently skips garbage, so the alphabet and padding are
 * checked first: a mangled credential must fail loudly, not decode to
 * something else.
 */

export type SaslResponse =
  | { readonly kind: 'cancel' }
  | { readonly kind: 'data'; readonly data: Buffer }
  | { readonly kind: 'error'; readonly error: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * `initial` selects SASL-IR rules: "=" is the empty response and "*" is not a
 * cancel. On a continuation line "*" cancels and an empty line is an empty response.
 */
export function decodeSaslResponse(input: Buffer | string, initial = false): SaslResponse {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  if (!initial && text === '*') return { kind: 'cancel' };
  if (initial && text === '=') return { kind: 'data', data: Buffer.alloc(0) };
  if (initial && text === '') return { kind: 'error', error: 'Empty initial response (send "=")' };
  if (!BASE64.test(text)) return { kind: 'error', error: 'Invalid base64' };
  return { kind: 'data', data: Buffer.from(text, 'base64') };
}
