import { readFileSync } from 'node:fs';
import { describe, it, expect, afterAll } from 'vitest';
import { parsePasswdFile } from '../../../src/credentials/passwd-file.js';
import { closeLegacyVerifiers, parseLegacyHash, verifyLegacy } from '../../../src/credentials/schemes/registry.js';

const read = (name: string): string => readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8');
const sample = read('passwd-file.sample');
const bad = read('passwd-file.bad');

afterAll(async () => {
  await closeLegacyVerifiers();
});

describe('parsePasswdFile on the sample', () => {
  it('finds every user with its scheme and line, and no errors', () => {
    const { entries, errors } = parsePasswdFile(sample);
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.line, e.user, e.hash.scheme])).toEqual([
      [4, 'alice@example.com', 'SHA512-CRYPT'],
      [5, 'bob@example.com', 'BLF-CRYPT'],
      [6, 'carol@example.com', 'ARGON2ID'],
      [9, 'dave@example.org', 'SSHA'],
      [10, 'erin@example.org', 'PLAIN'],
      [11, 'frank@example.org', 'SHA512-CRYPT'],
      [12, 'grace@example.org', 'PBKDF2'],
    ]);
  });

  it('keeps only the password field, not the extra fields after it', () => {
    const { entries } = parsePasswdFile(sample);
    const lines = sample.split('\n');
    for (const entry of entries) {
      const field = (lines[entry.line - 1] ?? '').split(':')[1] ?? '';
      expect(entry.hash).toEqual(parseLegacyHash(field));
    }
    expect(entries.find((e) => e.user === 'erin@example.org')?.hash.encoded).toBe('plain text');
  });

  it('gives hashes that verify with the passwords the fixtures were made from', async () => {
    const { entries } = parsePasswdFile(sample);
    const hash = (user: string) => {
      const entry = entries.find((e) => e.user === user);
      if (!entry) throw new Error(`no ${user}`);
      return entry.hash;
    };
    const results = await Promise.all([
      verifyLegacy(hash('alice@example.com'), Buffer.from('letmein')),
      verifyLegacy(hash('bob@example.com'), Buffer.from('hunter2')),
      verifyLegacy(hash('dave@example.org'), Buffer.from('salted sha one')),
      verifyLegacy(hash('erin@example.org'), Buffer.from('plain text')),
      verifyLegacy(hash('frank@example.org'), Buffer.from('bare crypt')),
      verifyLegacy(hash('grace@example.org'), Buffer.from('pbkdf2 password')),
      verifyLegacy(hash('alice@example.com'), Buffer.from('hunter2')),
    ]);
    expect(results).toEqual([true, true, true, true, true, true, false]);
  });

  it('reads CRLF files the same way', () => {
    expect(parsePasswdFile(sample.replace(/\n/g, '\r\n'))).toEqual(parsePasswdFile(sample));
  });
});

describe('parsePasswdFile on the bad file', () => {
  const { entries, errors } = parsePasswdFile(bad);

  it('keeps the good lines', () => {
    expect(entries.map((e) => [e.line, e.user, e.hash.scheme])).toEqual([
      [2, 'good1@example.com', 'SHA256-CRYPT'],
      [7, 'good2@example.com', 'SSHA256'],
      [11, 'good3@example.com', 'PLAIN'],
    ]);
  });

  it('reports each bad line by number with the problem', () => {
    expect(errors.map((e) => e.line)).toEqual([3, 4, 5, 8, 9, 10, 12]);
    const byLine = new Map(errors.map((e) => [e.line, e.message]));
    expect(byLine.get(3)).toMatch(/unknown password scheme \{MD5-CRYPT\}/);
    expect(byLine.get(4)).toMatch(/malformed SHA512-CRYPT/);
    expect(byLine.get(5)).toMatch(/empty password field/);
    expect(byLine.get(8)).toMatch(/missing ":"/);
    expect(byLine.get(9)).toMatch(/empty user name/);
    expect(byLine.get(10)).toMatch(/malformed ARGON2ID/);
    expect(byLine.get(12)).toMatch(/duplicate user, first defined on line 2/);
  });

  it('never echoes a password field in a message', () => {
    const lines = bad.split('\n');
    for (const error of errors) {
      const fields = (lines[error.line - 1] ?? '').split(':');
      const password = fields[1] ?? '';
      const afterScheme = password.slice(password.indexOf('}') + 1);
      if (afterScheme) expect(error.message).not.toContain(afterScheme);
      expect(error.message).not.toContain('orphan password');
    }
  });

  it('reports the same line numbers with CRLF endings', () => {
    const crlf = parsePasswdFile(bad.replace(/\n/g, '\r\n'));
    expect(crlf.errors).toEqual(errors);
    expect(crlf.entries).toEqual(entries);
  });
});

describe('parsePasswdFile details', () => {
  it('accepts the two-field form and trims the user, not the password', () => {
    const { entries, errors } = parsePasswdFile('  user@example.com \t:{PLAIN} pw with spaces \n');
    expect(errors).toEqual([]);
    expect(entries).toEqual([{ line: 1, user: 'user@example.com', hash: { scheme: 'PLAIN', encoded: ' pw with spaces ' } }]);
  });

  it('does not judge the user name (the caller validates addresses)', () => {
    const { entries } = parsePasswdFile('not-an-address:{PLAIN}pw');
    expect(entries.map((e) => e.user)).toEqual(['not-an-address']);
  });

  it('skips blank lines, whitespace-only lines and indented comments, and counts them', () => {
    const text = '\n   \n\t# comment: {PLAIN}nope\n#x:{PLAIN}y\nu:{PLAIN}p';
    const { entries, errors } = parsePasswdFile(text);
    expect(errors).toEqual([]);
    expect(entries.map((e) => e.line)).toEqual([5]);
  });

  it('ignores a byte-order mark and mixed line endings', () => {
    const { entries, errors } = parsePasswdFile('\uFEFFa:{PLAIN}1\r\nb:{PLAIN}2\nc:{PLAIN}3\r\n');
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.line, e.user, e.hash.encoded])).toEqual([
      [1, 'a', '1'],
      [2, 'b', '2'],
      [3, 'c', '3'],
    ]);
  });

  it('treats a password-less line and a bare unrecognised hash as errors', () => {
    const { entries, errors } = parsePasswdFile('a:\nb:::::\nc:abJnggxhB/yWI:1000\n');
    expect(entries).toEqual([]);
    expect(errors.map((e) => [e.line, e.message.includes('empty password field')])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(errors[2]?.message).toMatch(/no \{SCHEME\} prefix/);
    expect(errors[2]?.message).not.toContain('abJnggxhB');
  });
});
