import { describe, it, expect } from 'vitest';
import {
  DEFAULT_MAX_DEPTH, astringBytes, decodeSaslResponse, isParseError, nodeText, parseCommand,
  type ImapNode,
} from '../../../src/imap/parser/index.js';
import { A, L, LIST, NIL, S } from './helpers.js';

const APPLE_ID =
  '1 ID ("name" "Mac OS X Mail" "version" "16.0 (3776.700.51)" "os" "Mac OS X" ' +
  '"os-version" "14.5 (23F79)" "vendor" "Apple Inc.")';

interface Ok { name: string; line: string | Buffer; literals?: string[]; tag: string; command: string; attributes: ImapNode[] }

const valid: Ok[] = [
  {
    name: 'Apple Mail ID',
    line: APPLE_ID,
    tag: '1',
    command: 'ID',
    attributes: [LIST(
      S('name'), S('Mac OS X Mail'), S('version'), S('16.0 (3776.700.51)'), S('os'), S('Mac OS X'),
      S('os-version'), S('14.5 (23F79)'), S('vendor'), S('Apple Inc.'),
    )],
  },
  {
    name: 'Thunderbird ID',
    line: '2 ID ("name" "Thunderbird" "version" "115")',
    tag: '2', command: 'ID', attributes: [LIST(S('name'), S('Thunderbird'), S('version'), S('115'))],
  },
  { name: 'ID NIL', line: 'a3 id nil', tag: 'a3', command: 'ID', attributes: [NIL] },
  { name: 'empty list', line: 'a ID ()', tag: 'a', command: 'ID', attributes: [LIST()] },
  { name: 'Thunderbird lower-case AUTHENTICATE', line: '1 authenticate PLAIN', tag: '1', command: 'AUTHENTICATE', attributes: [A('PLAIN')] },
  {
    name: 'SASL-IR',
    line: 'a AUTHENTICATE PLAIN AGRhQGIuYwBw',
    tag: 'a', command: 'AUTHENTICATE', attributes: [A('PLAIN'), A('AGRhQGIuYwBw')],
  },
  { name: 'SASL-IR with padding', line: 'a AUTHENTICATE PLAIN AHU+cA==', tag: 'a', command: 'AUTHENTICATE', attributes: [A('PLAIN'), A('AHU+cA==')] },
  {
    name: 'Outlook LOGIN with escapes',
    line: 'A1 LOGIN "user@example.com" "pa\\"ss\\\\word"',
    tag: 'A1', command: 'LOGIN', attributes: [S('user@example.com'), S('pa"ss\\word')],
  },
  {
    name: 'LOGIN with sync literals',
    line: 'a LOGIN {16} {8}',
    literals: ['user@example.com', 'pass word'.slice(0, 8)],
    tag: 'a', command: 'LOGIN', attributes: [L('user@example.com'), L('pass wor')],
  },
  {
    name: 'LOGIN with non-sync literals',
    line: 'a LOGIN {16+} {2+}',
    literals: ['user@example.com', '\r\n'],
    tag: 'a', command: 'LOGIN', attributes: [L('user@example.com'), L('\r\n')],
  },
  { name: 'zero-length and zero-padded literals', line: 'a LOGIN {0} {003}', literals: ['', 'abc'], tag: 'a', command: 'LOGIN', attributes: [L(''), L('abc')] },
  { name: 'literal closing a list', line: 'a ID ({4} "x")', literals: ['name'], tag: 'a', command: 'ID', attributes: [LIST(L('name'), S('x'))] },
  { name: 'literal as the last list item', line: 'a ID ("x" {1})', literals: ['y'], tag: 'a', command: 'ID', attributes: [LIST(S('x'), L('y'))] },
  { name: 'atoms and astring chars', line: 'a LOGIN user] p@ss:w/rd+=', tag: 'a', command: 'LOGIN', attributes: [A('user]'), A('p@ss:w/rd+=')] },
  { name: 'unquoted NIL is NIL', line: 'a LOGIN NIL Nil', tag: 'a', command: 'LOGIN', attributes: [NIL, NIL] },
  { name: 'quoted "NIL" is a string', line: 'a LOGIN "NIL" \\NIL', tag: 'a', command: 'LOGIN', attributes: [S('NIL'), A('\\NIL')] },
  { name: 'empty quoted string', line: 'a LOGIN "" ""', tag: 'a', command: 'LOGIN', attributes: [S(''), S('')] },
  { name: 'UTF-8 in quoted strings', line: 'a LOGIN "jürgen@exämple.de" "пароль"', tag: 'a', command: 'LOGIN', attributes: [S('jürgen@exämple.de'), S('пароль')] },
  { name: 'raw 8-bit bytes in quoted string', line: Buffer.from([0x61, 0x20, 0x4c, 0x20, 0x22, 0xff, 0xfe, 0x22]), tag: 'a', command: 'L', attributes: [S(Buffer.from([0xff, 0xfe]))] },
  { name: 'TAB inside a quoted string', line: 'a LOGIN "a\tb" c', tag: 'a', command: 'LOGIN', attributes: [S('a\tb'), A('c')] },
  { name: 'no arguments', line: 'x1 CAPABILITY', tag: 'x1', command: 'CAPABILITY', attributes: [] },
  { name: 'odd but legal tag', line: 'A.1]~ noop', tag: 'A.1]~', command: 'NOOP', attributes: [] },
  { name: 'nested lists', line: 'a X (a (b "c") NIL) ()', tag: 'a', command: 'X', attributes: [LIST(A('a'), LIST(A('b'), S('c')), NIL), LIST()] },
  { name: 'flags, wildcards and sequence sets', line: 'a X \\Seen 1:* INBOX/%', tag: 'a', command: 'X', attributes: [A('\\Seen'), A('1:*'), A('INBOX/%')] },
  // Tolerated sloppiness: runs of SP, SP inside parentheses, trailing SP.
  { name: 'extra spaces', line: 'a  LOGIN   user  "pass"  ', tag: 'a', command: 'LOGIN', attributes: [A('user'), S('pass')] },
  { name: 'spaces inside parentheses', line: 'a ID ( "name" "x" )', tag: 'a', command: 'ID', attributes: [LIST(S('name'), S('x'))] },
  { name: 'space-only list', line: 'a ID ( )', tag: 'a', command: 'ID', attributes: [LIST()] },
  { name: 'command alone with trailing SP', line: 'a NOOP ', tag: 'a', command: 'NOOP', attributes: [] },
];

interface Bad { name: string; line: string | Buffer; literals?: string[]; tag?: string; error: RegExp }

const invalid: Bad[] = [
  { name: 'empty line', line: '', error: /tag/ },
  { name: 'leading space', line: ' a NOOP', error: /tag/ },
  { name: '"*" tag', line: '* NOOP', error: /tag/ },
  { name: '"+" tag', line: '+ NOOP', error: /tag/ },
  { name: '"+" inside tag', line: 'a+b NOOP', error: /tag/ },
  { name: 'quoted tag', line: '"a" NOOP', error: /tag/ },
  { name: 'TAB after tag', line: 'a\tNOOP', error: /tag/ },
  { name: 'tag only', line: 'a', tag: 'a', error: /Missing command/ },
  { name: 'tag and SP only', line: 'a ', tag: 'a', error: /Missing command/ },
  { name: 'command not an atom', line: 'a "LOGIN"', tag: 'a', error: /command/ },
  { name: 'junk in command name', line: 'a LOG"IN', tag: 'a', error: /command/ },
  { name: 'unterminated quote', line: 'a LOGIN "user pass', tag: 'a', error: /Unterminated/ },
  { name: 'bad escape', line: 'a LOGIN "us\\er" x', tag: 'a', error: /escape/ },
  { name: 'backslash at end of string', line: 'a LOGIN "user\\', tag: 'a', error: /escape/ },
  { name: 'NUL in quoted string', line: 'a LOGIN "us\0er" x', tag: 'a', error: /NUL/ },
  { name: 'NUL in atom', line: 'a LOGIN us\0er x', tag: 'a', error: /0x00/ },
  { name: 'NUL in tag', line: 'a\0 NOOP', error: /tag/ },
  { name: 'NUL in literal', line: 'a LOGIN {3} x', literals: ['a\0b'], tag: 'a', error: /NUL/ },
  { name: 'CR in quoted string', line: 'a LOGIN "a\rb" x', tag: 'a', error: /CR/ },
  { name: '8-bit atom', line: 'a LOGIN jürgen x', tag: 'a', error: /0xc3/ },
  { name: 'missing literal data', line: 'a LOGIN {4} x', tag: 'a', error: /missing/ },
  { name: 'extra literal data', line: 'a LOGIN x y', literals: ['z'], tag: 'a', error: /More literal/ },
  { name: 'literal length mismatch', line: 'a LOGIN {4}', literals: ['abc'], tag: 'a', error: /does not match/ },
  { name: 'absurd literal length', line: 'a LOGIN {99999999999999999999}', literals: ['x'], tag: 'a', error: /does not match/ },
  { name: 'unterminated literal marker', line: 'a LOGIN {4', tag: 'a', error: /Invalid literal/ },
  { name: 'empty literal marker', line: 'a LOGIN {}', tag: 'a', error: /Invalid literal/ },
  { name: 'junk after literal', line: 'a LOGIN {1}x', literals: ['u'], tag: 'a', error: /after argument/ },
  { name: 'literal8', line: 'a APPEND x ~{1}', literals: ['u'], tag: 'a', error: /literal8/ },
  { name: 'missing ")"', line: 'a ID ("name" "x"', tag: 'a', error: /missing "\)"/ },
  { name: 'stray ")"', line: 'a ID "name")', tag: 'a', error: /unexpected "\)"/ },
  { name: 'strings without separator', line: 'a LOGIN "a""b"', tag: 'a', error: /after argument/ },
  { name: 'atom then string', line: 'a LOGIN a"b"', tag: 'a', error: /after argument/ },
  { name: 'list then atom', line: 'a X (a)b', tag: 'a', error: /Expected SP/ },
  { name: 'atom then list', line: 'a X a(b)', tag: 'a', error: /after argument/ },
  { name: 'TAB separator', line: 'a LOGIN a\tb', tag: 'a', error: /0x09/ },
  { name: 'lone backslash', line: 'a X \\', tag: 'a', error: /end of line/ },
  { name: 'depth bomb', line: `a ID ${'('.repeat(100_000)}${')'.repeat(100_000)}`, tag: 'a', error: /too deeply/ },
  { name: 'unclosed depth bomb', line: `a ID ${'('.repeat(100_000)}`, tag: 'a', error: /too deeply/ },
];

describe('parseCommand: valid commands', () => {
  it.each(valid)('$name', ({ line, literals = [], tag, command, attributes }) => {
    const r = parseCommand(line, literals.map((l) => Buffer.from(l, 'latin1')));
    expect(r).toEqual({ tag, command, attributes });
  });

  it('accepts a Buffer line exactly like the equivalent string', () => {
    expect(parseCommand(Buffer.from(APPLE_ID), [])).toEqual(parseCommand(APPLE_ID, []));
  });
});

describe('parseCommand: errors', () => {
  it.each(invalid)('$name', ({ line, literals = [], tag, error }) => {
    const r = parseCommand(line, literals.map((l) => Buffer.from(l, 'latin1')));
    expect(isParseError(r)).toBe(true);
    if (!isParseError(r)) return;
    expect(r.error).toMatch(error);
    expect(r.tag).toBe(tag);
  });
});

describe('parseCommand: depth limit', () => {
  const nest = (n: number): string => `a ID ${'('.repeat(n)}${')'.repeat(n)}`;
  it(`accepts exactly ${DEFAULT_MAX_DEPTH} levels by default and refuses one more`, () => {
    expect(isParseError(parseCommand(nest(DEFAULT_MAX_DEPTH), []))).toBe(false);
    expect(isParseError(parseCommand(nest(DEFAULT_MAX_DEPTH + 1), []))).toBe(true);
  });
  it('honours maxDepth', () => {
    expect(isParseError(parseCommand(nest(1), [], { maxDepth: 1 }))).toBe(false);
    expect(isParseError(parseCommand(nest(2), [], { maxDepth: 1 }))).toBe(true);
    expect(isParseError(parseCommand(nest(1), [], { maxDepth: 0 }))).toBe(true);
  });
});

describe('node accessors', () => {
  it('astringBytes covers every astring form', () => {
    expect(astringBytes(A('user'))).toEqual(Buffer.from('user'));
    expect(astringBytes(S('pässword'))).toEqual(Buffer.from('pässword'));
    expect(astringBytes(L('x'))).toEqual(Buffer.from('x'));
    expect(astringBytes(NIL)).toEqual(Buffer.from('NIL'));
    expect(astringBytes(LIST())).toBeUndefined();
    expect(astringBytes(undefined)).toBeUndefined();
  });
  it('nodeText decodes strict UTF-8 only', () => {
    expect(nodeText(S('Mac OS X Mail'))).toBe('Mac OS X Mail');
    expect(nodeText(S(Buffer.from([0xff])))).toBeUndefined();
    expect(nodeText(NIL)).toBeUndefined();
  });
});

describe('decodeSaslResponse', () => {
  it.each([
    ['Thunderbird PLAIN response', 'AHVzZXJAZXhhbXBsZS5jb20AcGFzcw==', false, { kind: 'data', data: Buffer.from('\0user@example.com\0pass') }],
    ['SASL-IR PLAIN', 'AGRhQGIuYwBw', true, { kind: 'data', data: Buffer.from('\0da@b.c\0p') }],
    ['cancel', '*', false, { kind: 'cancel' }],
    ['"*" is not a cancel in SASL-IR', '*', true, { kind: 'error', error: 'Invalid base64' }],
    ['empty continuation response', '', false, { kind: 'data', data: Buffer.alloc(0) }],
    ['"=" is empty in SASL-IR', '=', true, { kind: 'data', data: Buffer.alloc(0) }],
    ['empty SASL-IR', '', true, { kind: 'error', error: 'Empty initial response (send "=")' }],
    ['garbage', 'AHV*', false, { kind: 'error', error: 'Invalid base64' }],
    ['missing padding', 'AHU', false, { kind: 'error', error: 'Invalid base64' }],
    ['embedded space', 'AHVz ZXI=', false, { kind: 'error', error: 'Invalid base64' }],
  ] as const)('%s', (_name, input, initial, expected) => {
    expect(decodeSaslResponse(Buffer.from(input), initial)).toEqual(expected);
  });
});
