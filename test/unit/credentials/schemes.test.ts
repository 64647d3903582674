import { readFileSync } from 'node:fs';
import { describe, it, expect, afterAll } from 'vitest';
import {
  LegacyHashError,
  LegacySchemeRegistry,
  closeLegacyVerifiers,
  getLegacyScheme,
  legacySchemeNames,
  parseLegacyHash,
  registerLegacyScheme,
  verifyLegacy,
} from '../../../src/credentials/schemes/registry.js';
import { plain } from '../../../src/credentials/schemes/plain.js';
import { WorkerPool } from '../../../src/credentials/schemes/worker-pool.js';
import type { LegacyScheme } from '../../../src/credentials/schemes/types.js';

interface Fixture {
  readonly scheme: string;
  readonly hash: string;
  readonly password: string;
  readonly tool: string;
}

const fixtures = JSON.parse(
  readFileSync(new URL('../../fixtures/legacy-hashes.json', import.meta.url), 'utf8'),
) as Fixture[];

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** The password with its last character replaced by a different one. */
function oneCharOff(password: string): string {
  const chars = [...password];
  const last = chars.pop() ?? 'a';
  return chars.join('') + (last === 'a' ? 'b' : 'a');
}

/** The text after `{SCHEME}`, or all of it for a bare crypt string. */
function body(hash: string): string {
  return hash.startsWith('{') ? hash.slice(hash.indexOf('}') + 1) : hash;
}

function fixture(predicate: (f: Fixture) => boolean): Fixture {
  const found = fixtures.find(predicate);
  if (!found) throw new Error('fixture missing');
  return found;
}

/** Asserts parse fails with LegacyHashError and returns its message. */
function parseError(text: string): string {
  try {
    parseLegacyHash(text);
  } catch (error) {
    expect(error).toBeInstanceOf(LegacyHashError);
    return (error as Error).message;
  }
  throw new Error('expected parseLegacyHash to throw');
}

afterAll(async () => {
  await closeLegacyVerifiers();
});

describe('fixtures made by doveadm, mkpasswd, openssl and node argon2', () => {
  it('cover every registered scheme and the required variants', () => {
    const schemes = new Set(fixtures.map((f) => f.scheme));
    for (const name of legacySchemeNames()) expect(schemes, name).toContain(name);
    const hashes = fixtures.map((f) => f.hash);
    expect(hashes.some((h) => h.includes('$2a$'))).toBe(true);
    expect(hashes.some((h) => h.includes('$2b$'))).toBe(true);
    expect(hashes.some((h) => h.includes('$2y$'))).toBe(true);
    expect(hashes.some((h) => h.includes('$rounds='))).toBe(true);
    expect(hashes.some((h) => /\$m=\d+,p=\d+,t=\d+\$/.test(h))).toBe(true);
    expect(hashes.some((h) => /\$m=\d+,t=\d+,p=\d+\$/.test(h))).toBe(true);
    expect(hashes.some((h) => h.startsWith('$argon2id$m='))).toBe(false);
    expect(hashes.some((h) => /^\{ARGON2ID\}\$argon2id\$m=/.test(h))).toBe(true);
    expect(hashes.some((h) => h.startsWith('$'))).toBe(true);
    expect(fixtures.some((f) => /[^\x00-\x7f]/.test(f.password))).toBe(true);
    expect(fixtures.some((f) => f.password.includes(' '))).toBe(true);
  });

  for (const f of fixtures) {
    describe(`${f.scheme}: ${f.tool}`, () => {
      it('parses to its scheme', () => {
        expect(parseLegacyHash(f.hash).scheme).toBe(f.scheme);
      });

      it('verifies the right password and refuses wrong ones', async () => {
        const hash = parseLegacyHash(f.hash);
        const [right, wrong, off, empty, longer] = await Promise.all([
          verifyLegacy(hash, utf8(f.password)),
          verifyLegacy(hash, utf8('definitely not it')),
          verifyLegacy(hash, utf8(oneCharOff(f.password))),
          verifyLegacy(hash, Buffer.alloc(0)),
          verifyLegacy(hash, utf8(`${f.password}x`)),
        ]);
        expect({ right, wrong, off, empty, longer }).toEqual({
          right: true,
          wrong: false,
          off: false,
          empty: false,
          longer: false,
        });
      });
    });
  }
});

describe('parseLegacyHash', () => {
  it('recognises bare crypt strings by prefix', () => {
    const bare = (prefix: string): string => body(fixture((f) => body(f.hash).startsWith(prefix)).hash);
    expect(parseLegacyHash(bare('$2a$')).scheme).toBe('BLF-CRYPT');
    expect(parseLegacyHash(bare('$2b$')).scheme).toBe('BLF-CRYPT');
    expect(parseLegacyHash(bare('$2y$')).scheme).toBe('BLF-CRYPT');
    expect(parseLegacyHash(bare('$6$')).scheme).toBe('SHA512-CRYPT');
    expect(parseLegacyHash(bare('$5$')).scheme).toBe('SHA256-CRYPT');
    expect(parseLegacyHash(bare('$argon2id$')).scheme).toBe('ARGON2ID');
    expect(parseLegacyHash(bare('$argon2i$')).scheme).toBe('ARGON2I');
  });

  it('keeps the stored form of a bare crypt string unchanged', () => {
    const f = fixture((x) => x.hash.startsWith('$6$'));
    expect(parseLegacyHash(f.hash)).toEqual({ scheme: 'SHA512-CRYPT', encoded: f.hash });
  });

  it('refuses bare strings it does not know', () => {
    parseError('$1$abcdefgh$ig.UWU1AAjbfcDgN28xdX/'); // MD5-crypt
    parseError('$argon2d$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo');
    parseError('$y$j9T$abc$def'); // yescrypt
    parseError('abJnggxhB/yWI'); // DES crypt
    parseError('');
  });

  it('takes scheme names case-insensitively, with aliases, to the canonical name', () => {
    const f = fixture((x) => x.hash.startsWith('{SHA512-CRYPT}$6$'));
    expect(parseLegacyHash(f.hash.replace('{SHA512-CRYPT}', '{sha512-crypt}')).scheme).toBe('SHA512-CRYPT');
    expect(parseLegacyHash('{CLEAR}secret')).toEqual({ scheme: 'PLAIN', encoded: 'secret' });
    expect(parseLegacyHash('{cleartext}secret')).toEqual({ scheme: 'PLAIN', encoded: 'secret' });
    expect(parseLegacyHash('{Plain}with: colon')).toEqual({ scheme: 'PLAIN', encoded: 'with: colon' });
  });

  it('undoes the .B64/.BASE64/.HEX encodings doveadm writes', () => {
    expect(parseLegacyHash('{PLAIN.B64}ZW5jb2RlZDogYjY0')).toEqual({ scheme: 'PLAIN', encoded: 'encoded: b64' });
    expect(parseLegacyHash('{plain.base64}dGVzdA==')).toEqual({ scheme: 'PLAIN', encoded: 'test' });
    expect(parseLegacyHash('{PLAIN.HEX}74657374')).toEqual({ scheme: 'PLAIN', encoded: 'test' });

    const b64 = fixture((x) => x.hash.startsWith('{SHA512-CRYPT.B64}'));
    const crypt = parseLegacyHash(b64.hash);
    expect(crypt.scheme).toBe('SHA512-CRYPT');
    expect(crypt.encoded).toBe(Buffer.from(body(b64.hash), 'base64').toString('utf8'));
    expect(crypt.encoded.startsWith('$6$')).toBe(true);

    // SSHA is stored as base64 of raw bytes, so .HEX becomes that base64.
    const hex = fixture((x) => x.hash.startsWith('{SSHA.HEX}'));
    const ssha = parseLegacyHash(hex.hash);
    expect(ssha).toEqual({ scheme: 'SSHA', encoded: Buffer.from(body(hex.hash), 'hex').toString('base64') });
  });

  it('refuses bad encodings clearly', () => {
    expect(parseError('{PLAIN.ROT13}grfg')).toMatch(/encoding suffix/);
    expect(parseError('{PLAIN.HEX}7465737')).toMatch(/not valid hex/);
    expect(parseError('{PLAIN.B64}dGVz*A==')).toMatch(/not valid base64/);
    expect(parseError('{PLAIN.HEX}ff00fe')).toMatch(/UTF-8/);
  });

  it('resolves {CRYPT} by the crypt prefix, as Dovecot hands it to crypt()', () => {
    const f = fixture((x) => x.hash.startsWith('$2b$'));
    expect(parseLegacyHash(`{CRYPT}${f.hash}`)).toEqual({ scheme: 'BLF-CRYPT', encoded: f.hash });
    expect(parseError('{CRYPT}abJnggxhB/yWI')).toMatch(/not a supported crypt format/);
  });

  it('refuses unknown schemes, naming the scheme', () => {
    expect(parseError('{MD5-CRYPT}$1$abcdefgh$ig.UWU1AAjbfcDgN28xdX/')).toMatch(/unknown password scheme \{MD5-CRYPT\}/);
    expect(parseError('{NOSUCH}hunter2')).toMatch(/unknown password scheme \{NOSUCH\}/);
    expect(parseError('{SHA512-CRYPT')).toMatch(/closing "}"/);
    expect(parseError('{}secret')).toMatch(/malformed \{SCHEME\}/);
    expect(parseError('{PLAIN}')).toMatch(/empty/);
  });

  // Each hash below is malformed for its scheme; all must fail at parse time.
  const argon = fixture((f) => f.hash.startsWith('{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$')).hash;
  const argonI = fixture((f) => f.hash.startsWith('{ARGON2I}$argon2i$v=19$')).hash;
  const bcrypt = fixture((f) => f.hash.startsWith('{BLF-CRYPT}$2y$05$')).hash;
  const sha512 = fixture((f) => /^\{SHA512-CRYPT\}\$6\$[^r]/.test(f.hash)).hash;
  const sha512r = fixture((f) => f.hash.startsWith('{SHA512-CRYPT}$6$rounds=')).hash;
  const sha256 = fixture((f) => /^\{SHA256-CRYPT\}\$5\$[^r]/.test(f.hash)).hash;
  const ssha512 = fixture((f) => f.hash.startsWith('{SSHA512}')).hash;
  const ssha256 = fixture((f) => f.hash.startsWith('{SSHA256}')).hash;
  const ssha = fixture((f) => f.hash.startsWith('{SSHA}')).hash;
  const pbkdf2 = fixture((f) => f.hash.startsWith('{PBKDF2}')).hash;

  const malformed: Array<[string, string]> = [
    ['ARGON2ID truncated', argon.slice(0, -10).replace(/\$[^$]*$/, '')],
    ['ARGON2ID cut hash', argon.slice(0, -40)],
    ['ARGON2ID holding argon2i', argon.replace('$argon2id$', '$argon2i$')],
    ['ARGON2ID unknown parameter', argon.replace('p=1', 'x=1')],
    ['ARGON2ID repeated parameter', argon.replace('p=1', 't=1')],
    ['ARGON2ID missing parameter', argon.replace(',p=1', '')],
    ['ARGON2ID zero parameter', argon.replace('t=3', 't=0')],
    ['ARGON2ID huge memory', argon.replace('m=65536', 'm=4194304')],
    ['ARGON2ID unknown version', argon.replace('v=19', 'v=20')],
    ['ARGON2ID padded salt', argon.replace(/\$([^$]+)\$([^$]+)$/, '$$$1==$$$2')],
    ['ARGON2ID short salt', argon.replace(/\$[^$]+(\$[^$]+)$/, '$c2FsdA$1')],
    ['ARGON2I holding argon2id', argonI.replace('$argon2i$', '$argon2id$')],
    ['ARGON2I bad base64', argonI.replace(/.$/, '!')],
    ['BLF-CRYPT truncated', bcrypt.slice(0, -5)],
    ['BLF-CRYPT too long', `${bcrypt}x`],
    ['BLF-CRYPT cost too low', bcrypt.replace('$05$', '$03$')],
    ['BLF-CRYPT cost too high', bcrypt.replace('$05$', '$31$')],
    ['BLF-CRYPT $2x$', bcrypt.replace('$2y$', '$2x$')],
    ['BLF-CRYPT bad salt character', bcrypt.replace(/(\$05\$)./, '$1!')],
    ['SHA512-CRYPT truncated', sha512.slice(0, -20)],
    ['SHA512-CRYPT holding $5$', sha512.replace('$6$', '$5$')],
    ['SHA512-CRYPT rounds below 1000', sha512r.replace(/rounds=\d+/, 'rounds=999')],
    ['SHA512-CRYPT rounds leading zero', sha512r.replace(/rounds=(\d+)/, 'rounds=0$1')],
    ['SHA512-CRYPT absurd rounds', sha512r.replace(/rounds=\d+/, 'rounds=999999999')],
    ['SHA512-CRYPT 17-character salt', sha512.replace(/^(\{SHA512-CRYPT\}\$6\$)[^$]+/, '$1abcdefghijklmnopq')],
    ['SHA512-CRYPT empty salt', sha512.replace(/^(\{SHA512-CRYPT\}\$6\$)[^$]+/, '$1')],
    ['SHA256-CRYPT truncated', sha256.slice(0, -1)],
    ['SHA256-CRYPT with a SHA-512 digest', sha256.replace(/\$[^$]+$/, () => sha512.slice(sha512.lastIndexOf('$')))],
    ['SSHA512 truncated', ssha512.slice(0, -8)],
    ['SSHA512 not base64', ssha512.replace(/^(\{SSHA512\}.{4})/, '$1*')],
    ['SSHA256 digest only, no salt', `{SSHA256}${Buffer.alloc(32, 1).toString('base64')}`],
    ['SSHA truncated', ssha.slice(0, -8)],
    ['SSHA unsalted SHA-1', '{SSHA}qUqP5cyxm6YcTAhz05Hph5gvu9M='],
    ['PBKDF2 truncated key', pbkdf2.slice(0, -1)],
    ['PBKDF2 non-hex key', pbkdf2.replace(/.$/, 'g')],
    ['PBKDF2 other version', pbkdf2.replace('$1$', '$2$')],
    ['PBKDF2 zero rounds', pbkdf2.replace(/\$\d+\$([0-9a-f]+)$/, '$$0$$$1')],
    ['PBKDF2 missing rounds', pbkdf2.replace(/\$\d+\$([0-9a-f]+)$/, '$$$1')],
    ['PLAIN with a NUL', '{PLAIN}pass\0word'],
  ];

  for (const [label, text] of malformed) {
    it(`refuses ${label}`, () => {
      const message = parseError(text);
      expect(message.length).toBeGreaterThan(0);
      // Never echo the hash (nor, for PLAIN, the password).
      expect(message).not.toContain(body(text));
    });
  }

  it('never puts the hash or password into a message', () => {
    const secrets = ['{NOSUCH}hunter2-secret', '{PLAIN.HEX}hunter2', '{PLAIN}', 'hunter2-secret', '{CRYPT}hunter2-secret'];
    for (const text of secrets) {
      const message = parseError(text);
      expect(message).not.toContain('hunter2');
    }
  });
});

describe('verifyLegacy', () => {
  it('refuses a password containing NUL rather than matching a prefix', async () => {
    expect(await verifyLegacy({ scheme: 'PLAIN', encoded: 'secret' }, utf8('secret'))).toBe(true);
    expect(await verifyLegacy({ scheme: 'PLAIN', encoded: 'secret' }, utf8('secret\0more'))).toBe(false);
  });

  it('accepts an alias as the stored scheme name', async () => {
    expect(await verifyLegacy({ scheme: 'clear', encoded: 'secret' }, utf8('secret'))).toBe(true);
  });

  it('rejects a stored hash that is unknown or no longer well formed, without echoing it', async () => {
    await expect(verifyLegacy({ scheme: 'MD5-CRYPT', encoded: '$1$x$y' }, utf8('x'))).rejects.toThrow(LegacyHashError);
    const tampered = { scheme: 'SHA512-CRYPT', encoded: '$6$rounds=999999999$salt$xyz' };
    const error = await verifyLegacy(tampered, utf8('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LegacyHashError);
    expect((error as Error).message).not.toContain(tampered.encoded);
  });

  it('verifies many SHA-crypt hashes at once, each answer on its own job', async () => {
    const shaFixtures = fixtures.filter((f) => /CRYPT\}?\$[56]\$|^\$[56]\$/.test(f.hash));
    expect(shaFixtures.length).toBeGreaterThan(5);
    const jobs = shaFixtures.flatMap((f) => {
      const hash = parseLegacyHash(f.hash);
      return [
        verifyLegacy(hash, utf8(f.password)).then((ok) => expect(ok).toBe(true)),
        verifyLegacy(hash, utf8(oneCharOff(f.password))).then((ok) => expect(ok).toBe(false)),
      ];
    });
    await Promise.all(jobs);
  });

  it('keeps the event loop turning while SHA-crypt runs', async () => {
    const f = fixture((x) => x.hash.includes('$rounds=20000$'));
    const hash = parseLegacyHash(f.hash);
    let ticks = 0;
    let running = true;
    const spin = (): void => {
      ticks++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const ok = await verifyLegacy(hash, utf8(f.password));
    running = false;
    expect(ok).toBe(true);
    // 20000 rounds take tens of milliseconds; on the main thread this would be ~1 tick.
    expect(ticks).toBeGreaterThan(10);
  });
});

describe('registry', () => {
  it('lists the canonical names', () => {
    expect(legacySchemeNames()).toEqual([
      'ARGON2I',
      'ARGON2ID',
      'BLF-CRYPT',
      'PBKDF2',
      'PLAIN',
      'SHA256-CRYPT',
      'SHA512-CRYPT',
      'SSHA',
      'SSHA256',
      'SSHA512',
    ]);
  });

  it('marks the cheap schemes weak', () => {
    const weak = legacySchemeNames().filter((n) => getLegacyScheme(n)?.weak);
    expect(weak).toEqual(['PLAIN', 'SSHA', 'SSHA256', 'SSHA512']);
  });

  it('throws on a duplicate name or alias, in any case, and registers nothing then', () => {
    const registry = new LegacySchemeRegistry();
    registry.register(plain);
    expect(() => registry.register(plain)).toThrow(/already registered/);
    const clash: LegacyScheme = { ...plain, name: 'OTHER', aliases: ['clear'] };
    expect(() => registry.register(clash)).toThrow(/"CLEAR" is already registered/);
    expect(registry.get('OTHER')).toBeUndefined();
    expect(() => registry.register({ ...plain, name: 'TWICE', aliases: ['twice'] })).toThrow(/already registered/);
    expect(() => registry.register({ ...plain, name: 'CRYPT', aliases: [] })).toThrow(/reserved/);

    expect(() => registerLegacyScheme({ ...plain, name: 'SSHA', aliases: [] })).toThrow(/already registered/);
    expect(() => registerLegacyScheme({ ...plain, name: 'NEW-ONE', aliases: ['cleartext'] })).toThrow(/already registered/);
    expect(getLegacyScheme('NEW-ONE')).toBeUndefined();
  });

  it('lets a new scheme be registered and then parsed', () => {
    const registry = new LegacySchemeRegistry();
    registry.register({ ...plain, name: 'TEST-PLAIN', aliases: ['TP'] });
    expect(registry.parse('{tp}x')).toEqual({ scheme: 'TEST-PLAIN', encoded: 'x' });
    expect(registry.names()).toEqual(['TEST-PLAIN']);
  });
});

describe('WorkerPool', () => {
  const source = `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', (m) => {
      if (m === 'crash') process.exit(3);
      if (m === 'throw') return parentPort.postMessage({ ok: false, error: 'refused' });
      setTimeout(() => parentPort.postMessage({ ok: true, value: m * 2 }), 5);
    });
  `;

  it('answers each job, survives a crashed worker and refuses work after close', async () => {
    const pool = new WorkerPool(source, { maxWorkers: 2 });
    const results = await Promise.allSettled([1, 'crash', 2, 'throw', 3, 4].map((m) => pool.run<number>(m)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.message))).toEqual([
      2,
      'worker thread exited',
      4,
      'refused',
      6,
      8,
    ]);
    expect(await pool.run(21)).toBe(42);
    await pool.close();
    await expect(pool.run(1)).rejects.toThrow(/closed/);
  });

  it('refuses jobs beyond its queue bound', async () => {
    const pool = new WorkerPool(source, { maxWorkers: 1, maxQueue: 1 });
    const first = pool.run(1);
    const second = pool.run(2);
    await expect(pool.run(3)).rejects.toThrow(/queue is full/);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    await pool.close();
  });
});
