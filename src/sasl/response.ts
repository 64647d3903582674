/** SASL client response lines as IMAP (RFC 9051 AUTHENTICATE, RFC 4959 SASL-IR) and POP3 (RFC 5034 AUTH) send them. */
import { decodeSaslBase64 } from './encoding.js';

export type SaslResponse =
  | { readonly kind: 'cancel' }
  | { readonly kind: 'data'; readonly data: Buffer }
  | { readonly kind: 'error'; readonly error: string };

/**
 * `initial` selects initial-response rules: "=" is the empty response and "*" is not a
 * cancel. On a continuation line "*" cancels and an empty line is an empty response.
 */
export function decodeSaslResponse(input: Buffer | string, initial = false): SaslResponse {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  if (!initial && text === '*') return { kind: 'cancel' };
  if (initial && text === '=') return { kind: 'data', data: Buffer.alloc(0) };
  if (initial && text === '') return { kind: 'error', error: 'Empty initial response (send "=")' };
  const data = decodeSaslBase64(text);
  return data ? { kind: 'data', data } : { kind: 'error', error: 'Invalid base64' };
}
