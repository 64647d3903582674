/**
 * Strict decoders for the textual encodings found in Dovecot hashes.
 * Buffer.from(…, 'base64'|'hex') silently skips garbage, which would let a
 * corrupt import through as a hash that can never match; these return null.
 */

// Standard alphabet, padding optional (Dovecot writes it, PHC strings omit it).
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

export function decodeBase64Strict(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

export function decodeHexStrict(text: string): Buffer | null {
  return HEX.test(text) ? Buffer.from(text, 'hex') : null;
}

// ignoreBOM keeps a leading U+FEFF as data: it would be part of a password.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8Strict(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}
