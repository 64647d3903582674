/**
 * Wire input for fuzzing a protocol reader: a protocol's command dictionary
 * mixed with random bytes and separators (the way Dovecot's fuzz targets
 * splice dictionary words into random data), and random cuts of a byte
 * string into chunks, since a reader must not care how its input arrives.
 */
import fc from 'fast-check';

export interface WireOptions {
  /** Most fragments in one case. */
  maxParts?: number;
  /** Longest run of random bytes in one fragment. */
  maxRandomBytes?: number;
  /** Separators a word may be followed by. */
  separators?: readonly string[];
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Bytes made of dictionary words (latin1: one char, one byte), separators and random runs. */
export function wireInput(dictionary: readonly string[], options: WireOptions = {}): fc.Arbitrary<Buffer> {
  const separators = options.separators ?? [' ', '\r\n'];
  const word = fc.constantFrom(...dictionary).map(latin1);
  const separated = fc.tuple(fc.constantFrom(...dictionary), fc.constantFrom(...separators)).map(([w, s]) => latin1(w + s));
  const random = fc.uint8Array({ minLength: 1, maxLength: options.maxRandomBytes ?? 64 }).map((b) => Buffer.from(b));
  const fragment = fc.oneof({ weight: 3, arbitrary: separated }, { weight: 1, arbitrary: word }, { weight: 1, arbitrary: random });
  return fc.array(fragment, { minLength: 1, maxLength: options.maxParts ?? 40 }).map((parts) => Buffer.concat(parts));
}

/** Sizes to cut a byte string with, cycled: many tiny chunks, a few big ones. */
export const chunkSizes: fc.Arbitrary<number[]> = fc.array(
  fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8192 })),
  { minLength: 1, maxLength: 16 },
);

/** `input` cut by `sizes` (cycled); every chunk non-empty, concatenation equals `input`. */
export function cut(input: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    chunks.push(input.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Random bytes with a bias towards the bytes protocols care about (CR, LF, NUL, quotes, braces). */
export function bytesBiased(maxLength: number): fc.Arbitrary<Buffer> {
  const special = fc.constantFrom(0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x28, 0x29, 0x2b, 0x3d, 0x5c, 0x7b, 0x7d, 0x7f, 0xff);
  const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), special);
  return fc.array(byte, { maxLength }).map((b) => Buffer.from(b));
}

type Mutation =
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; word: string }
  | { op: 'delete'; at: number; length: number }
  | { op: 'repeat'; at: number; length: number }
  | { op: 'run'; at: number; length: number; char: string };

/**
 * Well-formed sessions from `corpus`, then damaged: bytes overwritten,
 * dictionary words inserted, spans deleted or repeated, long runs of one
 * character inserted. Finds what pure noise rarely reaches: almost-valid input.
 */
export function mutated(corpus: readonly string[], dictionary: readonly string[]): fc.Arbitrary<Buffer> {
  const at = fc.nat();
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), at, byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at, word: fc.constantFrom(...dictionary) }),
    fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ op: fc.constant('repeat' as const), at, length: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ op: fc.constant('run' as const), at, length: fc.integer({ min: 1, max: 400 }), char: fc.constantFrom('x', '(', '{', ' ') }),
  );
  return fc
    .tuple(fc.array(fc.constantFrom(...corpus), { minLength: 1, maxLength: 4 }), fc.array(mutation, { minLength: 1, maxLength: 5 }))
    .map(([sessions, mutations]) => mutations.reduce(apply, latin1(sessions.join(''))));
}

function apply(s: Buffer, m: Mutation): Buffer {
  const at = m.at % (s.length + 1);
  const insert = (x: Buffer): Buffer => Buffer.concat([s.subarray(0, at), x, s.subarray(at)]);
  switch (m.op) {
    case 'set': {
      if (s.length === 0) return s;
      const copy = Buffer.from(s);
      copy[Math.min(at, s.length - 1)] = m.byte;
      return copy;
    }
    case 'insert': return insert(latin1(m.word));
    case 'delete': return Buffer.concat([s.subarray(0, at), s.subarray(at + m.length)]);
    case 'repeat': return insert(Buffer.from(s.subarray(at, at + m.length)));
    case 'run': return insert(Buffer.alloc(m.length, m.char));
  }
}
