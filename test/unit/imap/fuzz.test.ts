/**
 * Property tests with a seeded PRNG: a failure message names the seed, and
 * re-running with that seed reproduces it. Iteration counts keep the file
 * within a few seconds.
 */
import { describe, it, expect } from 'vitest';
import {
  CommandReader, decodeSaslResponse, isParseError, parseCommand,
  type ImapNode, type LineReaderOptions, type ReaderItem,
} from '../../../src/imap/parser/index.js';
import { A, Driver, L, LIST, NIL, S, prng } from './helpers.js';

type Rng = () => number;
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)] as T;

const CORPUS = [
  '1 ID ("name" "Mac OS X Mail" "version" "16.0 (3776.700.51)" "os" "Mac OS X" "os-version" "14.5 (23F79)" "vendor" "Apple Inc.")\r\n',
  '1 authenticate PLAIN\r\nAHVAZXhhbXBsZS5jb20AcA==\r\n',
  'A1 LOGIN "user@example.com" "pa\\"ss\\\\word"\r\n',
  'a LOGIN {16}\r\nuser@example.com {8}\r\npassword\r\n',
  'a LOGIN {16+}\r\nuser@example.com {8+}\r\npassword\r\n',
  'a AUTHENTICATE PLAIN AGRhQGIuYwBw\r\n',
  'b AUTHENTICATE LOGIN\r\n*\r\n',
  'c CAPABILITY\r\nd NOOP\ne STARTTLS\r\nf LOGOUT\r\n',
  'g ID NIL\r\nh ID ((("x")))\r\n',
];
const TOKENS = [
  '{', '}', '+', '{5}', '{0}', '{3+}', '{40+}', '{4097+}', '{99999999999999999999}', '{99999999999999999999+}',
  '\r\n', '\n', '\r', '"', '\\', '(', ')', ' ', '\0', '*', 'NIL', 'a ', ' AUTHENTICATE PLAIN\r\n', 'é', '\xff',
  '((((((((((', '"\\"', '~{2}', '{1+}\r\nx ', '{150}', '{150+}',
  ' {1+}\r\nx'.repeat(6), ` {150}\r\n${'q'.repeat(150)} {150}\r\n`,
];

function randomInput(rng: Rng): Buffer {
  if (rng() < 0.3) {
    const parts: Buffer[] = [];
    const n = int(rng, 60);
    for (let i = 0; i < n; i++) {
      parts.push(rng() < 0.5 ? Buffer.from([int(rng, 256)]) : Buffer.from(pick(rng, TOKENS), 'latin1'));
    }
    return Buffer.concat(parts);
  }
  let s: Buffer = Buffer.from(Array.from({ length: 1 + int(rng, 4) }, () => pick(rng, CORPUS)).join(''), 'latin1');
  for (let m = 1 + int(rng, 5); m > 0; m--) {
    const at = int(rng, s.length + 1);
    const op = int(rng, 5);
    const insert = (x: Buffer): Buffer => Buffer.concat([s.subarray(0, at), x, s.subarray(at)]);
    if (op === 0 && s.length > 0) s[Math.min(at, s.length - 1)] = int(rng, 256);
    else if (op === 1) s = insert(Buffer.from(pick(rng, TOKENS), 'latin1'));
    else if (op === 2) s = Buffer.concat([s.subarray(0, at), s.subarray(at + int(rng, 20))]);
    else if (op === 3) s = insert(Buffer.from(s.subarray(at, at + int(rng, 40))));
    else s = insert(Buffer.alloc(int(rng, 400), pick(rng, ['x', '(', '{', ' '])));
  }
  return s;
}

function randomChunks(rng: Rng, input: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < input.length;) {
    const size = 1 + int(rng, rng() < 0.5 ? 8 : 200);
    chunks.push(input.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

const SMALL: LineReaderOptions = {
  maxLineLength: 64, maxLiteralSize: 200, maxNonSyncLiteralSize: 32,
  maxCommandSize: 300, maxLiterals: 4, maxDiscardSize: 600,
};

function checkItem(item: ReaderItem, r: CommandReader): void {
  const l = r.limits;
  if (item.kind === 'command') {
    expect(item.line.length).toBeLessThanOrEqual(l.maxCommandSize);
    expect(item.literals.length).toBeLessThanOrEqual(l.maxLiterals);
    for (const lit of item.literals) expect(lit.length).toBeLessThanOrEqual(l.maxLiteralSize);
    const p = parseCommand(item.line, item.literals);
    if (!isParseError(p)) {
      expect(p.tag.length).toBeGreaterThan(0);
      expect(p.command).toBe(p.command.toUpperCase());
    }
  } else if (item.kind === 'raw') {
    expect(item.line.length).toBeLessThanOrEqual(l.maxLineLength);
  }
}

describe('fuzz: CommandReader', () => {
  for (const [label, options] of [['small limits', SMALL], ['default limits', {}]] as const) {
    it(`never throws, bounds memory, and ignores chunking (${label})`, () => {
      const seeds = label === 'small limits' ? 3000 : 600;
      for (let seed = 1; seed <= seeds; seed++) {
        const rng = prng(seed);
        const input = randomInput(rng);
        const chunks = randomChunks(rng, input);
        const ctx = `seed ${seed} (${label})`;
        let whole: Driver;
        let split: Driver;
        try {
          whole = new Driver(options).feed(input);
          split = new Driver(options).feedAll(chunks);
        } catch (e) {
          throw new Error(`${ctx}: threw ${String(e)}`);
        }
        const l = split.reader.limits;
        const bound = l.maxCommandSize + l.maxLineLength + 1;
        const biggestChunk = Math.max(0, ...chunks.map((c) => c.length));
        expect(split.maxAfterDrain, ctx).toBeLessThanOrEqual(bound);
        expect(split.maxAfterPush, ctx).toBeLessThanOrEqual(bound + biggestChunk);
        expect(whole.maxAfterDrain, ctx).toBeLessThanOrEqual(bound);
        expect(split.items, ctx).toEqual(whole.items);
        // Each item needs at least one consumed line, so a runaway loop would show here.
        expect(split.items.length, ctx).toBeLessThanOrEqual(2 * input.length + 1);
        for (const item of split.items) checkItem(item, split.reader);
      }
    });
  }

  it('survives a long stream of random chunks on one connection', () => {
    const rng = prng(4242);
    const d = new Driver(SMALL);
    for (let i = 0; i < 5000 && !d.reader.closed; i++) d.feed(randomInput(rng).subarray(0, 1 + int(rng, 64)));
    const l = d.reader.limits;
    expect(d.maxAfterDrain).toBeLessThanOrEqual(l.maxCommandSize + l.maxLineLength + 1);
  });
});

/** Random argument trees, serialized the way a client would send them. */
function randomNode(rng: Rng, depth: number): ImapNode {
  const k = int(rng, depth < 3 ? 5 : 4);
  if (k === 0) {
    const v = Array.from({ length: 1 + int(rng, 8) }, () => pick(rng, [...'abcXYZ019.:@+/=-[]'])).join('');
    return v.toUpperCase() === 'NIL' ? A(`${v}x`) : A(v);
  }
  if (k === 1) {
    const bytes = Array.from({ length: int(rng, 12) }, () => pick(rng, [0x22, 0x5c, 0x20, 0xc3, 0xff, 0x7f, 0x09, 0x61 + int(rng, 26)]));
    return S(Buffer.from(bytes));
  }
  if (k === 2) return L(Buffer.from(Array.from({ length: int(rng, 10) }, () => 1 + int(rng, 255))));
  if (k === 3) return NIL;
  return LIST(...Array.from({ length: int(rng, 4) }, () => randomNode(rng, depth + 1)));
}

/** Wire form of the nodes; `literal` receives the text after each `{N}`/`{N+}` marker. */
function serialize(rng: Rng, nodes: ImapNode[], sep: () => string, wire: Buffer[]): void {
  nodes.forEach((n, i) => {
    if (i > 0) wire.push(Buffer.from(sep()));
    switch (n.type) {
      case 'ATOM': wire.push(Buffer.from(n.value, 'latin1')); break;
      case 'NIL': wire.push(Buffer.from(pick(rng, ['NIL', 'nil', 'Nil']))); break;
      case 'STRING': {
        const escaped = Buffer.from(n.value.toString('latin1').replace(/["\\]/g, (c) => `\\${c}`), 'latin1');
        wire.push(Buffer.from('"'), escaped, Buffer.from('"'));
        break;
      }
      case 'LITERAL': wire.push(Buffer.from(`{${n.value.length}${rng() < 0.5 ? '+' : ''}}\r\n`), n.value); break;
      case 'LIST':
        wire.push(Buffer.from('('));
        serialize(rng, n.items, sep, wire);
        wire.push(Buffer.from(')'));
        break;
    }
  });
}

describe('fuzz: parseCommand', () => {
  it('round-trips random argument trees through the reader and the parser', () => {
    for (let seed = 1; seed <= 1500; seed++) {
      const rng = prng(seed);
      const attributes = Array.from({ length: int(rng, 5) }, () => randomNode(rng, 0));
      const sep = (): string => ' '.repeat(rng() < 0.8 ? 1 : 2 + int(rng, 2));
      const wire: Buffer[] = [Buffer.from('T1 CMD')];
      if (attributes.length > 0) wire.push(Buffer.from(' '));
      serialize(rng, attributes, sep, wire);
      wire.push(Buffer.from('\r\n'));
      const input = Buffer.concat(wire);
      const d = new Driver({ maxNonSyncLiteralSize: 4096 }).feedAll(randomChunks(rng, input));
      const commands = d.items.filter((i) => i.kind === 'command');
      expect(commands, `seed ${seed}`).toHaveLength(1);
      const c = commands[0];
      if (c?.kind !== 'command') throw new Error('unreachable');
      expect(parseCommand(c.line, c.literals), `seed ${seed}: ${input.toString('latin1')}`).toEqual({
        tag: 'T1', command: 'CMD', attributes,
      });
    }
  });

  it('never throws on mutated lines and random literals', () => {
    for (let seed = 1; seed <= 5000; seed++) {
      const rng = prng(seed);
      const line = randomInput(rng);
      const literals = Array.from({ length: int(rng, 3) }, () => randomInput(rng).subarray(0, int(rng, 20)));
      const r = parseCommand(line, literals, { maxDepth: 1 + int(rng, 8) });
      if (isParseError(r)) expect(typeof r.error).toBe('string');
      else expect(r.tag.length).toBeGreaterThan(0);
      decodeSaslResponse(line, rng() < 0.5);
    }
  });
});
