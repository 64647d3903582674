import { DevicepassError } from '../errors/catalogue.js';

const MAX_ADDRESS = 254;
const MAX_LOCAL = 64;
// dot-atom local part (RFC 5322) plus UTF-8 (RFC 6531); no quoted local parts: no mail client sends them as logins
const LOCAL = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

/** Lower-cased, validated address; null when it is not one. Addresses are case-insensitive everywhere. */
export function normalizeAddress(input: string): string | null {
  const address = input.trim().normalize('NFC').toLowerCase();
  if (address.length === 0 || address.length > MAX_ADDRESS) return null;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at > MAX_LOCAL || at === address.length - 1) return null;
  const local = address.slice(0, at);
  const labels = address.slice(at + 1).split('.');
  if (!LOCAL.test(local)) return null;
  if (!labels.every((label) => LABEL.test(label))) return null;
  return address;
}

export function requireAddress(input: unknown): string {
  const address = typeof input === 'string' ? normalizeAddress(input) : null;
  if (address === null) throw new DevicepassError('ADDRESS_INVALID', `not a valid mail address: ${JSON.stringify(String(input).slice(0, 80))}`);
  return address;
}

const MAX_TEXT = 200;
// printable text only: no control characters that would garble a terminal or a log line
const PRINTABLE = /^[^\p{Cc}\p{Cf}\u2028\u2029]+$/u;

export function validText(input: unknown): input is string {
  return typeof input === 'string' && input.trim().length > 0 && [...input].length <= MAX_TEXT && PRINTABLE.test(input);
}
