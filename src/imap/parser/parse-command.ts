/**
 * Pure IMAP command parser: one command line (literal data cut out, the `{N}`
 * markers left in place) plus the literal payloads, in order, to a tree.
 *
 * Whitespace policy: RFC 3501 wants exactly one SP between tokens. Clients
 * are sometimes sloppier, and a run of SP never changes meaning, so runs of
 * SP are accepted wherever one SP is, as are SP just inside parentheses and
 * trailing SP. Everything that could be read two ways is refused: a missing
 * SP between tokens (`"a""b"`, `(a)b`), leading SP before the tag, TAB or
 * any other control byte as a separator, 8-bit bytes outside quoted strings
 * and literals, and a NUL anywhere.
 */
import {
  BACKSLASH, DQUOTE, LBRACE, LPAREN, NUL, PLUS, RBRACE, RPAREN, SP, CR, LF, TILDE,
  isArgAtomChar, isAtomChar, isDigit, isTagChar, parseNumber,
} from './chars.js';

export type ImapNode = AtomNode | StringNode | LiteralNode | NilNode | ListNode;
/** Unquoted token, US-ASCII; may start with "\" (flags). Never "NIL". */
export interface AtomNode { readonly type: 'ATOM'; readonly value: string }
/** Quoted string, escapes removed; raw bytes (often, not always, UTF-8). */
export interface StringNode { readonly type: 'STRING'; readonly value: Buffer }
/** Literal payload exactly as sent. */
export interface LiteralNode { readonly type: 'LITERAL'; readonly value: Buffer }
/** Unquoted NIL, any case. Where the grammar wants an astring this is the text "NIL". */
export interface NilNode { readonly type: 'NIL' }
export interface ListNode { readonly type: 'LIST'; readonly items: ImapNode[] }

export interface ParsedCommand {
  readonly tag: string;
  /** Command name, upper-cased (ASCII only). */
  readonly command: string;
  readonly attributes: ImapNode[];
}

export interface ParseError {
  readonly error: string;
  /** Present once a well-formed tag was read, so the reply can be a tagged BAD. */
  readonly tag?: string;
}

export type ParseResult = ParsedCommand | ParseError;

export interface ParseOptions {
  /** Deepest list nesting accepted; default 8 (ID needs 1). */
  readonly maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 8;

export function isParseError(r: ParseResult): r is ParseError {
  return 'error' in r;
}

/** Signals a syntax error from deep inside the scanner; never escapes parseCommand. */
class Syntax extends Error {}

/**
 * Parses one command. Never throws on any input; returns `{ error, tag? }`
 * for anything that is not a well-formed command. A string `line` is taken
 * as UTF-8; every literal must be announced by a `{N}`/`{N+}` marker of the
 * same length, in order.
 */
export function parseCommand(
  line: Buffer | string,
  literals: readonly Buffer[],
  options: ParseOptions = {},
): ParseResult {
  const buf = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;

  let pos = 0;
  while (pos < buf.length && isTagChar(buf[pos] ?? -1)) pos++;
  if (pos === 0) return { error: 'Missing or invalid tag' };
  if (pos < buf.length && buf[pos] !== SP) return { error: 'Invalid character in tag' };
  const tag = buf.toString('latin1', 0, pos);

  pos = skipSpaces(buf, pos);
  const cmdStart = pos;
  while (pos < buf.length && isAtomChar(buf[pos] ?? -1)) pos++;
  if (pos === cmdStart) {
    return { tag, error: pos < buf.length ? 'Invalid command name' : 'Missing command' };
  }
  if (pos < buf.length && buf[pos] !== SP) return { tag, error: 'Invalid character in command name' };
  const command = buf.toString('latin1', cmdStart, pos).toUpperCase();

  try {
    const attributes = new Scanner(buf, pos, literals, maxDepth).arguments();
    return { tag, command, attributes };
  } catch (err) {
    if (err instanceof Syntax) return { tag, error: err.message };
    throw err;
  }
}

function skipSpaces(buf: Buffer, pos: number): number {
  while (buf[pos] === SP) pos++;
  return pos;
}

class Scanner {
  #pos: number;
  #literal = 0;
  readonly #buf: Buffer;
  readonly #literals: readonly Buffer[];
  readonly #maxDepth: number;

  constructor(buf: Buffer, pos: number, literals: readonly Buffer[], maxDepth: number) {
    this.#buf = buf;
    this.#pos = pos;
    this.#literals = literals;
    this.#maxDepth = maxDepth;
  }

  /** Iterative on purpose: nesting depth must never translate into stack depth. */
  arguments(): ImapNode[] {
    const buf = this.#buf;
    const top: ImapNode[] = [];
    const stack: ImapNode[][] = [top];
    let current = top;
    // The command name was the previous token, so a separator is due.
    let needSep = true;
    for (;;) {
      const before = this.#pos;
      this.#pos = skipSpaces(buf, this.#pos);
      const sawSpace = this.#pos > before;
      const b = buf[this.#pos];
      if (b === undefined) {
        if (stack.length > 1) throw new Syntax('Unbalanced parentheses: missing ")"');
        break;
      }
      if (b === RPAREN) {
        if (stack.length === 1) throw new Syntax('Unbalanced parentheses: unexpected ")"');
        stack.pop();
        current = stack[stack.length - 1] ?? top;
        this.#pos++;
        needSep = true;
        continue;
      }
      if (needSep && !sawSpace) throw new Syntax(`Expected SP before ${describe(b)}`);
      if (b === LPAREN) {
        if (stack.length > this.#maxDepth) throw new Syntax('Lists nested too deeply');
        const list: ListNode = { type: 'LIST', items: [] };
        current.push(list);
        stack.push(list.items);
        current = list.items;
        this.#pos++;
        needSep = false;
        continue;
      }
      current.push(this.#token(b));
      needSep = true;
    }
    if (this.#literal !== this.#literals.length) throw new Syntax('More literal data than literals announced');
    return top;
  }

  #token(b: number): ImapNode {
    let node: ImapNode;
    if (b === DQUOTE) node = this.#quoted();
    else if (b === LBRACE) node = this.#literalNode();
    else if (b === TILDE && this.#buf[this.#pos + 1] === LBRACE) throw new Syntax('literal8 is not supported');
    else node = this.#atom();
    this.#endOfToken();
    return node;
  }

  /** A token must be followed by SP, ")" or the end; anything else is ambiguous. */
  #endOfToken(): void {
    const next = this.#buf[this.#pos];
    if (next !== undefined && next !== SP && next !== RPAREN) {
      throw new Syntax(`Unexpected ${describe(next)} after argument`);
    }
  }

  #atom(): ImapNode {
    const buf = this.#buf;
    const start = this.#pos;
    let pos = start;
    if (buf[pos] === BACKSLASH) pos++;
    while (pos < buf.length && isArgAtomChar(buf[pos] ?? -1)) pos++;
    if (pos === start || (pos === start + 1 && buf[start] === BACKSLASH)) {
      throw new Syntax(`Unexpected ${describe(buf[pos])}`);
    }
    this.#pos = pos;
    const value = buf.toString('latin1', start, pos);
    return value.toUpperCase() === 'NIL' ? { type: 'NIL' } : { type: 'ATOM', value };
  }

  #quoted(): StringNode {
    const buf = this.#buf;
    const parts: Buffer[] = [];
    let pos = this.#pos + 1;
    let runStart = pos;
    for (;;) {
      const b = buf[pos];
      if (b === undefined) throw new Syntax('Unterminated quoted string');
      if (b === DQUOTE) break;
      if (b === NUL) throw new Syntax('NUL byte in quoted string');
      if (b === CR || b === LF) throw new Syntax('CR or LF in quoted string');
      if (b === BACKSLASH) {
        const e = buf[pos + 1];
        if (e !== DQUOTE && e !== BACKSLASH) throw new Syntax('Invalid escape in quoted string');
        parts.push(buf.subarray(runStart, pos));
        runStart = pos + 1; // keep the escaped byte as the start of the next run
        pos += 2;
        continue;
      }
      pos++;
    }
    parts.push(buf.subarray(runStart, pos));
    this.#pos = pos + 1;
    return { type: 'STRING', value: Buffer.concat(parts) };
  }

  #literalNode(): LiteralNode {
    const buf = this.#buf;
    const start = this.#pos + 1;
    let pos = start;
    while (isDigit(buf[pos])) pos++;
    if (pos === start) throw new Syntax('Invalid literal');
    const size = parseNumber(buf, start, pos);
    if (buf[pos] === PLUS) pos++;
    if (buf[pos] !== RBRACE) throw new Syntax('Invalid literal');
    this.#pos = pos + 1;
    const data = this.#literals[this.#literal++];
    if (data === undefined) throw new Syntax('Literal data missing');
    if (data.length !== size) throw new Syntax('Literal length does not match its announcement');
    // RFC 3501 literals are CHAR8 (%x01-ff); a NUL here is how credential
    // smuggling into SASL-style strings usually starts.
    if (data.includes(NUL)) throw new Syntax('NUL byte in literal');
    return { type: 'LITERAL', value: data };
  }
}

function describe(b: number | undefined): string {
  if (b === undefined) return 'end of line';
  if (b === SP) return 'SP';
  if (b >= 0x21 && b < 0x7f) return `"${String.fromCharCode(b)}"`;
  return `byte 0x${b.toString(16).padStart(2, '0')}`;
}
