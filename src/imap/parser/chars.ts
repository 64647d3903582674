/**
 * Byte classes from the RFC 3501 / RFC 9051 grammar, as lookup tables so the
 * hot loops in the reader and parser stay branch-light.
 */

export const SP = 0x20;
export const CR = 0x0d;
export const LF = 0x0a;
export const NUL = 0x00;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const LPAREN = 0x28;
export const RPAREN = 0x29;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const PLUS = 0x2b;
export const TILDE = 0x7e;

const ATOM = new Uint8Array(256);
const ASTRING = new Uint8Array(256);
const TAG = new Uint8Array(256);
const ARG_ATOM = new Uint8Array(256);

for (let b = 0x21; b < 0x7f; b++) {
  // atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
  const special = '(){%*"\\]'.includes(String.fromCharCode(b));
  if (!special) ATOM[b] = 1;
}
for (let b = 0; b < 256; b++) {
  ASTRING[b] = ATOM[b] === 1 || b === 0x5d ? 1 : 0;
  // tag = 1*<any ASTRING-CHAR except "+">
  TAG[b] = ASTRING[b] === 1 && b !== PLUS ? 1 : 0;
  // Arguments also carry list-wildcards (LIST patterns) and "*" (sequence sets);
  // accepting them here keeps the parser reusable after authentication.
  ARG_ATOM[b] = ASTRING[b] === 1 || b === 0x25 || b === 0x2a ? 1 : 0;
}

/** ATOM-CHAR: printable US-ASCII except atom-specials. */
export function isAtomChar(b: number): boolean {
  return ATOM[b] === 1;
}

/** ASTRING-CHAR: ATOM-CHAR or "]". */
export function isAstringChar(b: number): boolean {
  return ASTRING[b] === 1;
}

/** Byte allowed in a command tag. */
export function isTagChar(b: number): boolean {
  return TAG[b] === 1;
}

/** Byte allowed inside an unquoted argument (after an optional leading "\"). */
export function isArgAtomChar(b: number): boolean {
  return ARG_ATOM[b] === 1;
}

export function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

/**
 * The tag at the start of `line`: tag characters up to the first SP, or to the
 * end when `complete` (the whole line is known). Undefined when there is none
 * or it is malformed, so callers never echo garbage back as a tag.
 */
export function extractTag(line: Uint8Array, complete: boolean): string | undefined {
  let i = 0;
  while (i < line.length && isTagChar(line[i] ?? -1)) i++;
  if (i === 0) return undefined;
  if (i < line.length ? line[i] !== SP : !complete) return undefined;
  return Buffer.from(line.buffer, line.byteOffset, i).toString('latin1');
}

/** Literal announced at the very end of a line: `{N}` or `{N+}`. */
export interface LiteralMarker {
  /** Announced octet count; Infinity when it cannot be a real size. */
  readonly size: number;
  readonly nonSync: boolean;
}

/**
 * Reads a `{N}` / `{N+}` marker ending `line` (line without its CRLF).
 * `truncated` says `line` is only the tail of a longer line: a digit run that
 * reaches the start of the tail may have lost its "{", and is then reported
 * as an unusable size rather than guessed at, so framing errs towards closing.
 */
export function literalMarkerAtEnd(line: Uint8Array, truncated = false): LiteralMarker | undefined {
  let i = line.length;
  if (i === 0 || line[i - 1] !== RBRACE) return undefined;
  i--;
  const nonSync = line[i - 1] === PLUS;
  if (nonSync) i--;
  let j = i;
  while (j > 0 && isDigit(line[j - 1])) j--;
  if (j === i) return undefined;
  if (j === 0 && truncated) return { size: Infinity, nonSync };
  if (j === 0 || line[j - 1] !== LBRACE) return undefined;
  return { size: parseNumber(line, j, i), nonSync };
}

/** Decimal digits in line[start, end) as a number; Infinity past 2^53 territory. */
export function parseNumber(line: Uint8Array, start: number, end: number): number {
  while (start < end - 1 && line[start] === 0x30) start++; // RFC numbers may carry leading zeros
  if (end - start > 15) return Infinity;
  let n = 0;
  for (let k = start; k < end; k++) n = n * 10 + ((line[k] ?? 0x30) - 0x30);
  return n;
}
