/**
 * The one place IMAP response bytes are made. Handlers describe responses
 * (status, code, message, data values); this module decides quoting,
 * literals and sanitizing, so no handler can put a stray CRLF or an
 * unbalanced bracket on the wire.
 */

export type StatusKind = 'OK' | 'NO' | 'BAD' | 'BYE';

/** `[NAME arg …]`: arguments are atoms (capability names, limits). */
export interface ResponseCode {
  readonly name: string;
  readonly args?: readonly string[];
}

export interface StatusResponse {
  readonly response: StatusKind;
  readonly code?: ResponseCode;
  readonly message: string;
}

/** A value in a data response: an atom, a string (quoted or literal as needed), NIL, or a list. */
export type ImapValue = { readonly atom: string } | string | Buffer | null | readonly ImapValue[];

const CRLF = '\r\n';
/** Longest string sent quoted; longer ones go as literals, which need no escaping. */
const MAX_QUOTED = 1024;
/** ATOM-CHAR without "]" (it would end a response code early). */
const CODE_ATOM = /^[!#$&'+-Z^-z|~]+$/;

/** `tag SP status SP [code] SP text CRLF`; `tag` is "*" for untagged. */
export function composeStatus(tag: string, status: StatusResponse): Buffer {
  let line = `${tag} ${status.response}`;
  const code = status.code ? composeCode(status.code) : '';
  if (code) line += ` ${code}`;
  line += ` ${text(status.message, code !== '')}${CRLF}`;
  return Buffer.from(line, 'utf8');
}

/** `* NAME value …`, e.g. CAPABILITY atoms or the ID list. */
export function composeData(name: string, values: readonly ImapValue[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`* ${name}`, 'latin1')];
  for (const v of values) {
    parts.push(Buffer.from(' ', 'latin1'));
    appendValue(parts, v);
  }
  parts.push(Buffer.from(CRLF, 'latin1'));
  return Buffer.concat(parts);
}

/** `+ text`: SASL challenges (base64) and literal go-aheads. */
export function composeContinuation(message: string): Buffer {
  // an empty SASL challenge is "+ " alone, so no placeholder text here
  return Buffer.from(`+ ${message === '' ? '' : text(message, true)}${CRLF}`, 'utf8');
}

/** Atoms that can safely sit inside a response code; anything else is dropped rather than escaped. */
export function isCodeAtom(value: string): boolean {
  return CODE_ATOM.test(value);
}

function composeCode(code: ResponseCode): string {
  if (!isCodeAtom(code.name)) return '';
  const args = (code.args ?? []).filter(isCodeAtom);
  return `[${[code.name, ...args].join(' ')}]`;
}

/**
 * Human-readable text: one line, no controls. Without a response code it
 * must not begin with "[" (a client would read it as one).
 */
function text(message: string, afterCode: boolean): string {
  // CR/LF would end the line early and let the text forge a second response
  let t = message.replace(/[\x00-\x1f\x7f]/g, ' ').trim();
  if (!afterCode && t.startsWith('[')) t = `(${t.slice(1)}`;
  return t === '' ? 'done' : t;
}

function appendValue(parts: Buffer[], v: ImapValue): void {
  if (v === null) {
    parts.push(Buffer.from('NIL', 'latin1'));
  } else if (Array.isArray(v)) {
    parts.push(Buffer.from('(', 'latin1'));
    v.forEach((item: ImapValue, i: number) => {
      if (i > 0) parts.push(Buffer.from(' ', 'latin1'));
      appendValue(parts, item);
    });
    parts.push(Buffer.from(')', 'latin1'));
  } else if (typeof v === 'string' || Buffer.isBuffer(v)) {
    parts.push(composeString(typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
  } else {
    const atom = (v as { atom: string }).atom;
    parts.push(Buffer.from(isCodeAtom(atom) ? atom : 'NIL', 'latin1'));
  }
}

/** Quoted when short and free of CR, LF and NUL; otherwise a literal. */
export function composeString(bytes: Buffer): Buffer {
  const quotable = bytes.length <= MAX_QUOTED && !bytes.includes(0x0d) && !bytes.includes(0x0a) && !bytes.includes(0x00);
  if (!quotable) return Buffer.concat([Buffer.from(`{${bytes.length}}${CRLF}`, 'latin1'), bytes]);
  const out: number[] = [0x22];
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out.push(0x5c);
    out.push(b);
  }
  out.push(0x22);
  return Buffer.from(out);
}
