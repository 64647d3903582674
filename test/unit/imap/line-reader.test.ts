import { describe, it, expect } from 'vitest';
import {
  CommandReader, DEFAULT_READER_LIMITS, decodeSaslResponse, parseCommand, type ReaderItem,
} from '../../../src/imap/parser/index.js';
import { Driver, L, itemsFor, show } from './helpers.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const run = (input: string | Buffer, options = {}): ReaderItem[] =>
  new Driver(options).feed(typeof input === 'string' ? b(input) : input).items;
const cmd = (line: string, literals: string[] = []) => ({ command: line, literals });
const err = (code: string, tag: string | undefined, fatal = false) =>
  expect.objectContaining({ kind: 'error', code, tag, fatal });

describe('CommandReader: framing', () => {
  it('reads CRLF and bare LF lines, skipping blank lines between commands', () => {
    expect(show(run('a NOOP\r\n\r\n\nb CAPABILITY\nc LOGOUT\r\n'))).toEqual([
      cmd('a NOOP'), cmd('b CAPABILITY'), cmd('c LOGOUT'),
    ]);
  });

  it('asks for continuation on sync literals and joins the command', () => {
    const items = run('a LOGIN {16}\r\nuser@example.com {8}\r\npa"ss\\wd\r\n');
    expect(show(items)).toEqual([
      { kind: 'continuation', tag: 'a', size: 16 },
      { kind: 'continuation', tag: 'a', size: 8 },
      cmd('a LOGIN {16} {8}', ['user@example.com', 'pa"ss\\wd']),
    ]);
    const last = items[2];
    if (last?.kind !== 'command') throw new Error('expected a command');
    expect(parseCommand(last.line, last.literals)).toEqual({
      tag: 'a', command: 'LOGIN', attributes: [L('user@example.com'), L('pa"ss\\wd')],
    });
  });

  it('reads non-sync literals without a continuation, CRLF inside literal data included', () => {
    expect(show(run('a LOGIN {16+}\r\nuser@example.com {4+}\r\np\r\nw\r\nb NOOP\r\n'))).toEqual([
      cmd('a LOGIN {16+} {4+}', ['user@example.com', 'p\r\nw']), cmd('b NOOP'),
    ]);
  });

  it('handles zero-length literals and literals inside lists', () => {
    expect(show(run('a ID ({0}\r\n {4}\r\nname)\r\n'))).toEqual([
      { kind: 'continuation', tag: 'a', size: 0 },
      { kind: 'continuation', tag: 'a', size: 4 },
      cmd('a ID ({0} {4})', ['', 'name']),
    ]);
  });

  it('frames a literal marker that is not a valid argument, so the parser (not the framer) refuses it', () => {
    const items = run('a LOGIN user{4+}\r\nb NO\r\nc NOOP\r\n');
    expect(show(items)).toEqual([cmd('a LOGIN user{4+}', ['b NO']), cmd('c NOOP')]);
  });

  it('switches to raw-line mode for an AUTHENTICATE exchange, even when pipelined in one chunk', () => {
    const items = run('1 authenticate PLAIN\r\nAHVAZXhhbXBsZS5jb20AcA==\r\n2 AUTHENTICATE PLAIN\r\n*\r\n3 NOOP\r\n');
    expect(show(items)).toEqual([
      cmd('1 authenticate PLAIN'), { raw: 'AHVAZXhhbXBsZS5jb20AcA==' },
      cmd('2 AUTHENTICATE PLAIN'), { raw: '*' },
      cmd('3 NOOP'),
    ]);
    const raw = items[1];
    if (raw?.kind !== 'raw') throw new Error('expected a raw line');
    expect(decodeSaslResponse(raw.line)).toEqual({ kind: 'data', data: b('\0u@example.com\0p') });
  });

  it('returns an empty raw line (an empty SASL response) instead of skipping it', () => {
    expect(show(run('1 AUTHENTICATE X\r\n\r\n'))).toEqual([cmd('1 AUTHENTICATE X'), { raw: '' }]);
  });

  it('does not treat literal markers as literals in raw mode', () => {
    expect(show(run('1 AUTHENTICATE X\r\nabc {5}\r\n2 NOOP\r\n'))).toEqual([
      cmd('1 AUTHENTICATE X'), { raw: 'abc {5}' }, cmd('2 NOOP'),
    ]);
  });

  it('refuses to switch to raw mode mid-command', () => {
    const r = new CommandReader();
    r.push(b('a LOGIN {5}\r\nab'));
    expect(r.read()).toEqual({ kind: 'continuation', tag: 'a', size: 5 });
    expect(r.read()).toBeUndefined();
    expect(() => r.expectRawLine()).toThrow(/middle of a command/);
  });

  it('reports unread input so STARTTLS can refuse pipelined plaintext', () => {
    const r = new CommandReader();
    r.push(b('a STARTTLS\r\nb LOGIN u p\r\n'));
    expect(r.read()?.kind).toBe('command');
    expect(r.pendingBytes).toBe('b LOGIN u p\r\n'.length);
  });

  it('validates options', () => {
    expect(() => new CommandReader({ maxLineLength: 0 })).toThrow(RangeError);
    expect(() => new CommandReader({ maxLiteralSize: 1.5 })).toThrow(RangeError);
    expect(new CommandReader({ maxNonSyncLiteralSize: 0 }).limits.maxNonSyncLiteralSize).toBe(0);
    expect(new CommandReader().limits).toEqual(DEFAULT_READER_LIMITS);
  });
});

describe('CommandReader: limits', () => {
  it('rejects an over-long line with its tag, skips it, and carries on', () => {
    const long = `a1 LOGIN ${'x'.repeat(DEFAULT_READER_LIMITS.maxLineLength)}\r\nb NOOP\r\n`;
    expect(show(run(long))).toEqual([err('LINE_TOO_LONG', 'a1'), cmd('b NOOP')]);
  });

  it('reports an over-long line before its end arrives, without buffering it', () => {
    const d = new Driver({ maxLineLength: 100 });
    d.feed(b('t LOGIN '));
    for (let i = 0; i < 1000; i++) d.feed(b('y'.repeat(50)));
    expect(show(d.items)).toEqual([err('LINE_TOO_LONG', 't')]);
    expect(d.maxAfterDrain).toBeLessThanOrEqual(101);
    d.feed(b('\r\nu NOOP\r\n'));
    expect(show(d.items)[1]).toEqual(cmd('u NOOP'));
  });

  it('gives no tag when the over-long line has no complete tag', () => {
    expect(show(run(`${'x'.repeat(200)}\r\n`, { maxLineLength: 100 }))).toEqual([err('LINE_TOO_LONG', undefined)]);
  });

  it('rejects a sync literal over the limit; the client sends no data, so the next line is a command', () => {
    expect(show(run('a LOGIN {65537}\r\nb NOOP\r\n'))).toEqual([err('LITERAL_TOO_LARGE', 'a'), cmd('b NOOP')]);
  });

  it('rejects an absurd sync literal size without failing', () => {
    expect(show(run('a LOGIN {99999999999999999999}\r\nb NOOP\r\n'))).toEqual([
      err('LITERAL_TOO_LARGE', 'a'), cmd('b NOOP'),
    ]);
  });

  it('LITERAL-: rejects {N+} over 4096 and skips its data so it cannot smuggle a command', () => {
    const data = `x\r\nevil LOGIN u p\r\n${'z'.repeat(4097 - 19)}`;
    expect(data.length).toBe(4097);
    expect(show(run(`a LOGIN u {4097+}\r\n${data} {3+}\r\nabc\r\nb NOOP\r\n`))).toEqual([
      err('NONSYNC_LITERAL_TOO_LARGE', 'a'), cmd('b NOOP'),
    ]);
  });

  it('LITERAL+: accepts large {N+} when configured', () => {
    const items = run(`a LOGIN u {5000+}\r\n${'p'.repeat(5000)}\r\n`, { maxNonSyncLiteralSize: 65536 });
    expect(show(items)).toEqual([cmd('a LOGIN u {5000+}', ['p'.repeat(5000)])]);
  });

  it('closes on a non-sync literal too large to skip', () => {
    const r = new CommandReader();
    r.push(b('a LOGIN {99999999999999999999+}\r\nb NOOP\r\n'));
    expect(r.read()).toEqual(err('DISCARD_LIMIT', 'a', true));
    expect(r.read()).toBeUndefined();
    expect(r.closed).toBe(true);
    r.push(b('c NOOP\r\n'));
    expect(r.read()).toBeUndefined();
    expect(r.bufferedBytes).toBe(0);
  });

  it('closes when a rejected line goes on past the discard budget', () => {
    const d = new Driver({ maxLineLength: 100, maxDiscardSize: 10_000 });
    for (let i = 0; i < 300; i++) d.feed(b('q'.repeat(100)));
    expect(show(d.items)).toEqual([err('LINE_TOO_LONG', undefined), err('DISCARD_LIMIT', undefined, true)]);
  });

  it('keeps framing after an over-long line that announces a non-sync literal', () => {
    const line = `a X ${'x'.repeat(200)} {9+}\r\n123\r\nb NO\r\nc NOOP\r\n`;
    expect(show(run(line, { maxLineLength: 100 }))).toEqual([err('LINE_TOO_LONG', 'a'), cmd('c NOOP')]);
  });

  it('enforces the literal count', () => {
    const line = 'a X {1+}\r\n1 {1+}\r\n2 {1+}\r\n3\r\nb NOOP\r\n';
    expect(show(run(line, { maxLiterals: 2 }))).toEqual([err('TOO_MANY_LITERALS', 'a'), cmd('b NOOP')]);
  });

  it('enforces the total command size over lines and literals', () => {
    const opts = { maxCommandSize: 100, maxLineLength: 60, maxLiteralSize: 60 };
    expect(show(run(`a X {50}\r\n${'l'.repeat(50)} {50}\r\nb NOOP\r\n`, opts))).toEqual([
      { kind: 'continuation', tag: 'a', size: 50 }, err('COMMAND_TOO_LARGE', 'a'), cmd('b NOOP'),
    ]);
    const lines = `a X {1+}\r\n${'m'.repeat(55)} {1+}\r\n${'n'.repeat(55)}\r\nb NOOP\r\n`;
    expect(show(run(lines, opts))).toEqual([err('COMMAND_TOO_LARGE', 'a'), cmd('b NOOP')]);
  });

  it('rejects an over-long raw line without a tag and returns to command mode', () => {
    expect(show(run(`1 AUTHENTICATE PLAIN\r\n${'A'.repeat(200)}\r\n2 NOOP\r\n`, { maxLineLength: 100 }))).toEqual([
      cmd('1 AUTHENTICATE PLAIN'), err('LINE_TOO_LONG', undefined), cmd('2 NOOP'),
    ]);
  });
});

describe('CommandReader: chunking does not change the result', () => {
  const transcripts: [string, string | Buffer, object?][] = [
    ['Apple Mail ID', '1 ID ("name" "Mac OS X Mail" "version" "16.0 (3776.700.51)" "os" "Mac OS X" "os-version" "14.5 (23F79)" "vendor" "Apple Inc.")\r\n2 NOOP\r\n'],
    ['Thunderbird AUTHENTICATE', '1 authenticate PLAIN\r\nAHVAZXhhbXBsZS5jb20AcA==\r\n2 LOGOUT\n'],
    ['Outlook LOGIN', 'A1 LOGIN "user@example.com" "pa\\"ss\\\\word"\r\n'],
    ['sync literals', 'a LOGIN {16}\r\nuser@example.com {8}\r\npassword\r\n'],
    ['non-sync literals', 'a LOGIN {16+}\r\nuser@example.com {8+}\r\npass\r\nwd\r\n'],
    ['SASL-IR and cancel', 'a AUTHENTICATE PLAIN AGRhQGIuYwBw\r\nb AUTHENTICATE LOGIN\r\n*\r\n'],
    ['over-long line', `a X ${'x'.repeat(40)} {5+}\r\nab\r\nc\r\nb NOOP\r\n`, { maxLineLength: 20 }],
    ['over-long raw line', `1 AUTHENTICATE X\r\n${'A'.repeat(30)}\r\n2 NOOP\r\n`, { maxLineLength: 20 }],
    ['rejected literals', 'a X {300+}\r\n' + 'y'.repeat(300) + '\r\nb X {99999}\r\nc NOOP\r\n', { maxNonSyncLiteralSize: 100 }],
    ['UTF-8 and bare CR', Buffer.from('a LOGIN "jürgen" "p\r"\r\nb NOOP\n')],
  ];

  it.each(transcripts)('%s, split at every byte boundary and byte by byte', (_name, text, opts = {}) => {
    const input = typeof text === 'string' ? b(text) : text;
    const whole = itemsFor(input, [], opts);
    expect(whole.length).toBeGreaterThan(0);
    for (let i = 1; i < input.length; i++) expect(itemsFor(input, [i], opts)).toEqual(whole);
    const bytes = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
    expect(itemsFor(input, bytes, opts)).toEqual(whole);
  });
});

describe('CommandReader: literal memory follows the bytes that arrived', () => {
  it('an announced 60 KB literal whose bytes never come holds almost nothing', () => {
    const r = new CommandReader();
    r.push(b('a LOGIN {60000}\r\n'));
    expect(r.read()).toEqual({ kind: 'continuation', tag: 'a', size: 60000 });
    expect(r.read()).toBeUndefined();
    // the command line so far, not the 60,000 bytes announced
    expect(r.bufferedBytes).toBeLessThan(1024);
  });

  it('grows with what is sent, at most about twice that, and still delivers the whole literal', () => {
    const r = new CommandReader();
    r.push(b('a LOGIN {60000}\r\n'));
    r.read();
    const data = Buffer.alloc(60000, 0x61);
    for (let sent = 0; sent < 3000; sent += 100) {
      r.push(data.subarray(sent, sent + 100));
      expect(r.read()).toBeUndefined();
      expect(r.bufferedBytes).toBeLessThanOrEqual(2 * (sent + 100) + 1024);
    }
    r.push(data.subarray(3000));
    r.push(b(' x\r\n'));
    const item = r.read();
    if (item?.kind !== 'command') throw new Error(`expected a command, got ${JSON.stringify(item)}`);
    expect(item.literals).toHaveLength(1);
    expect(item.literals[0]!.equals(data)).toBe(true);
    expect(r.bufferedBytes).toBe(0);
  });
});
