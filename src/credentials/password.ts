import { randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';
/** 24 lowercase letters: log2(26) × 24 ≈ 112.8 bits, above the 96-bit floor, and six groups of four. */
export const GENERATED_LENGTH = 24;
export const GROUP = 4;
export const CHOSEN_MINIMUM = 16;
/** Longer is refused at creation and at every login before any work: no hash is ever run over a megabyte of input. */
export const MAX_PASSWORD_BYTES = 1024;

/** A new device password in the form shown to the user: "abcd efgh ijkl mnop qrst uvwx". */
export function generatePassword(): string {
  let letters = '';
  for (let i = 0; i < GENERATED_LENGTH; i++) letters += ALPHABET[randomInt(ALPHABET.length)];
  return groupForDisplay(letters);
}

export function groupForDisplay(letters: string): string {
  return letters.match(new RegExp(`.{1,${GROUP}}`, 'g'))!.join(' ');
}

/**
 * The one normalization applied to device passwords at creation and at every
 * login: Unicode NFC (a phone and a desktop may compose "é" differently) and
 * spaces removed (users copy the grouped form or type it without them).
 * Generic legacy passwords are never normalized: they are verified as sent.
 */
export function normalizeDevicePassword(password: string): string {
  return password.normalize('NFC').replace(/[ \t\u00a0]/g, '');
}

/** Length in characters (code points), as a user counts them. */
export function passwordLength(normalized: string): number {
  return [...normalized].length;
}
