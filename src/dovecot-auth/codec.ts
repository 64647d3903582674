/**
 * The Dovecot authentication protocol (client ↔ auth server, v1.x) as pure
 * functions: line framing, Dovecot's \001 tab-escaping, request parsing and
 * reply formatting. No sockets here, so every rule is testable with tables.
 */

/** Dovecot's own cap (AUTH_CLIENT_MAX_LINE_LENGTH); a longer line is a protocol error. */
export const MAX_LINE_BYTES = 16_384;
export const PROTOCOL_MAJOR = 1;
export const PROTOCOL_MINOR = 2;

const ESC = '\x01';

/** Dovecot's str_tabescape: \001 → \0011, NUL → \0010, TAB → \001t, CR → \001r, LF → \001n. */
export function tabEscape(value: string): string {
  if (!/[\x00\x01\t\r\n]/.test(value)) return value;
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '\x00': out += `${ESC}0`; break;
      case ESC: out += `${ESC}1`; break;
      case '\t': out += `${ESC}t`; break;
      case '\r': out += `${ESC}r`; break;
      case '\n': out += `${ESC}n`; break;
      default: out += ch;
    }
  }
  return out;
}

const UNESCAPED: Record<string, string> = { '0': '\x00', '1': ESC, t: '\t', r: '\r', n: '\n' };

/** The inverse; an unknown escape writes the character itself, a trailing lone \001 is dropped (as Dovecot does). */
export function tabUnescape(value: string): string {
  if (!value.includes(ESC)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch !== ESC) {
      out += ch;
      continue;
    }
    const next = value[++i];
    if (next === undefined) break;
    out += UNESCAPED[next] ?? next;
  }
  return out;
}

/** A line the peer sent: the command name and its unescaped TAB-separated parameters. */
export interface Line {
  command: string;
  args: string[];
}

export function parseLine(line: string): Line {
  const fields = line.split('\t');
  return { command: fields[0] ?? '', args: fields.slice(1).map(tabUnescape) };
}

export function formatLine(command: string, ...args: string[]): string {
  return args.length === 0 ? `${command}\n` : `${command}\t${args.map(tabEscape).join('\t')}\n`;
}

export class ProtocolError extends Error {}

/** Request ids are unsigned 32-bit numbers in Dovecot; anything else is a broken client. Error texts never echo input: it may be a password. */
function parseId(text: string | undefined): number {
  if (text === undefined || !/^\d{1,10}$/.test(text) || Number(text) > 0xffff_ffff) throw new ProtocolError('malformed request id');
  return Number(text);
}

export interface AuthRequest {
  id: number;
  mechanism: string;
  service: string;
  /** Remote (client) and local IPs, when the client passed them. */
  rip: string | null;
  lip: string | null;
  secured: boolean;
  nologin: boolean;
  /** The initial response, base64 text as sent; null when absent ("resp=" with nothing after is an empty response). */
  resp: string | null;
}

/** AUTH <id> <mech> [name=value | flag]…; unknown parameters are ignored as the protocol asks. */
export function parseAuth(args: readonly string[]): AuthRequest {
  const id = parseId(args[0]);
  const mechanism = args[1];
  if (!mechanism) throw new ProtocolError('AUTH without a mechanism');
  const request: AuthRequest = { id, mechanism: mechanism.toUpperCase(), service: '', rip: null, lip: null, secured: false, nologin: false, resp: null };
  for (const param of args.slice(2)) {
    const eq = param.indexOf('=');
    const name = eq < 0 ? param : param.slice(0, eq);
    const value = eq < 0 ? '' : param.slice(eq + 1);
    switch (name) {
      case 'service': request.service = value; break;
      case 'rip': request.rip = value || null; break;
      case 'lip': request.lip = value || null; break;
      case 'secured': request.secured = true; break;
      case 'nologin': request.nologin = true; break;
      case 'resp': request.resp = value; break;
    }
  }
  if (!request.service) throw new ProtocolError('AUTH without service=');
  return request;
}

/** CONT <id> <base64 data> */
export function parseCont(args: readonly string[]): { id: number; data: string } {
  return { id: parseId(args[0]), data: args[1] ?? '' };
}

/** VERSION <major> <minor>: only the major number must match. */
export function parseVersion(args: readonly string[]): { major: number; minor: number } {
  const [major, minor] = args.map((a) => (/^\d{1,5}$/.test(a) ? Number(a) : NaN));
  if (major === undefined || Number.isNaN(major)) throw new ProtocolError('malformed VERSION');
  return { major, minor: minor === undefined || Number.isNaN(minor) ? 0 : minor };
}

export interface Handshake {
  mechanisms: readonly string[];
  spid: number;
  cuid: number;
  cookie: string;
}

/** What the server sends unprompted on connect: clients that speak first and clients that wait both find it. */
export function formatHandshake(h: Handshake): string {
  return [
    formatLine('VERSION', String(PROTOCOL_MAJOR), String(PROTOCOL_MINOR)),
    ...h.mechanisms.map((m) => formatLine('MECH', m, 'plaintext')),
    formatLine('SPID', String(h.spid)),
    formatLine('CUID', String(h.cuid)),
    formatLine('COOKIE', h.cookie),
    formatLine('DONE'),
  ].join('');
}

export function formatOk(id: number, user: string): string {
  return formatLine('OK', String(id), `user=${user}`);
}

export function formatCont(id: number, base64: string): string {
  return formatLine('CONT', String(id), base64);
}

/**
 * FAIL with the user when known. Temporary failures carry both Dovecot 2.3's
 * `code=temp_fail` and the older `temp` flag: clients ignore what they do not know.
 */
export function formatFail(id: number, options: { user?: string | null; reason: string; temporary: boolean }): string {
  const args = [String(id)];
  if (options.user) args.push(`user=${options.user}`);
  if (options.temporary) args.push('code=temp_fail', 'temp');
  args.push(`reason=${options.reason}`);
  return formatLine('FAIL', ...args);
}

/**
 * Splits a byte stream into lines (LF, an optional CR dropped) and refuses a
 * line longer than `maxBytes` before buffering it all.
 */
export class LineSplitter {
  readonly #maxBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxBytes = MAX_LINE_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Returns the complete lines in `chunk`; throws ProtocolError when a line exceeds the cap. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.#pendingBytes + piece.length > this.#maxBytes) throw new ProtocolError('line too long');
      const whole = this.#pendingBytes > 0 ? Buffer.concat([...this.#pending, piece]) : piece;
      this.#pending = [];
      this.#pendingBytes = 0;
      const end = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
      lines.push(whole.toString('utf8', 0, end));
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      if (this.#pendingBytes + rest.length > this.#maxBytes) throw new ProtocolError('line too long');
      this.#pending.push(Buffer.from(rest));
      this.#pendingBytes += rest.length;
    }
    return lines;
  }
}
