import { argon2i } from './argon2i.js';
import { argon2id } from './argon2id.js';
import { blfCrypt } from './blf-crypt.js';
import { decodeBase64Strict, decodeHexStrict, decodeUtf8Strict } from './encoding.js';
import { pbkdf2Scheme } from './pbkdf2.js';
import { plain } from './plain.js';
import { closeShaCryptWorkers } from './sha-crypt-worker.js';
import { sha256Crypt } from './sha256-crypt.js';
import { sha512Crypt } from './sha512-crypt.js';
import { ssha } from './ssha.js';
import { ssha256 } from './ssha256.js';
import { ssha512 } from './ssha512.js';
import type { LegacyHash, LegacyScheme } from './types.js';

/**
 * Thrown for an unknown scheme or a malformed hash. The message names the
 * scheme and the problem but never includes the hash: for {PLAIN} the hash
 * is the password, and for the rest it is still offline-guessable material
 * that has no business in logs.
 */
export class LegacyHashError extends Error {
  override readonly name = 'LegacyHashError';
}

// Bare crypt strings (passwd-files often have no {SCHEME}) and Dovecot's
// {CRYPT}, which hands the string to libc crypt(): the prefix names the scheme.
// Longest first, so `$argon2id$` is not taken for `$argon2i$`.
const CRYPT_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['$argon2id$', 'ARGON2ID'],
  ['$argon2i$', 'ARGON2I'],
  ['$2a$', 'BLF-CRYPT'],
  ['$2b$', 'BLF-CRYPT'],
  ['$2y$', 'BLF-CRYPT'],
  ['$6$', 'SHA512-CRYPT'],
  ['$5$', 'SHA256-CRYPT'],
];
const CRYPT_FORMATS = '$2a$/$2b$/$2y$ (bcrypt), $5$, $6$, $argon2i$, $argon2id$';

// Dovecot's `{SCHEME.ENC}` suffixes: the stored value is that encoding of
// what the scheme would normally store (`doveadm pw -s SHA512-CRYPT.b64`).
const ENCODINGS = new Set(['B64', 'BASE64', 'HEX']);

// `{NAME}` or `{NAME.ENC}`; anything else inside braces is not a scheme label.
const LABEL = /^([A-Za-z0-9][A-Za-z0-9_-]{0,31})(?:\.([A-Za-z0-9]{1,16}))?$/;

/** Schemes whose stored form is base64 of raw bytes (the SSHA family). */
function storedAsBase64(scheme: LegacyScheme): boolean {
  return 'storedAs' in scheme && scheme.storedAs === 'base64';
}

export class LegacySchemeRegistry {
  private readonly byName = new Map<string, LegacyScheme>();
  private readonly canonical: LegacyScheme[] = [];

  /** Adds a scheme under its name and aliases; any name already taken throws. */
  register(scheme: LegacyScheme): void {
    const names = [scheme.name, ...scheme.aliases].map((n) => n.toUpperCase());
    for (const name of names) {
      if (!LABEL.test(name) || name.includes('.')) throw new Error(`invalid legacy scheme name "${name}"`);
      if (name === 'CRYPT') throw new Error('"CRYPT" is reserved: it selects a scheme by the crypt prefix');
      if (this.byName.has(name) || names.indexOf(name) !== names.lastIndexOf(name)) {
        throw new Error(`legacy scheme name "${name}" is already registered`);
      }
    }
    for (const name of names) this.byName.set(name, scheme);
    this.canonical.push(scheme);
  }

  /** Looks a scheme up by canonical name or alias, case-insensitively. */
  get(name: string): LegacyScheme | undefined {
    return this.byName.get(name.toUpperCase());
  }

  /** Canonical names, sorted. */
  names(): string[] {
    return this.canonical.map((s) => s.name).sort();
  }

  parse(text: string): LegacyHash {
    let scheme: LegacyScheme | undefined;
    let encoded: string;
    if (text.length === 0) throw new LegacyHashError('password hash is empty');
    if (text.startsWith('{')) {
      const close = text.indexOf('}');
      if (close < 0) throw new LegacyHashError('password hash has "{" but no closing "}" after the scheme name');
      const label = LABEL.exec(text.slice(1, close));
      if (!label) throw new LegacyHashError('password hash has a malformed {SCHEME} prefix');
      const name = (label[1] ?? '').toUpperCase();
      const encoding = label[2]?.toUpperCase();
      const shown = encoding ? `{${name}.${encoding}}` : `{${name}}`;
      encoded = text.slice(close + 1);
      if (encoded.length === 0) throw new LegacyHashError(`${shown} password hash is empty`);
      if (encoding !== undefined && !ENCODINGS.has(encoding)) {
        throw new LegacyHashError(`unsupported encoding suffix in ${shown}: expected .B64, .BASE64 or .HEX`);
      }
      if (name !== 'CRYPT') {
        scheme = this.get(name);
        if (!scheme) {
          throw new LegacyHashError(`unknown password scheme ${shown}; supported: ${this.names().join(', ')}`);
        }
      }
      if (encoding !== undefined) {
        const bytes = encoding === 'HEX' ? decodeHexStrict(encoded) : decodeBase64Strict(encoded);
        if (!bytes) throw new LegacyHashError(`${shown} password hash is not valid ${encoding === 'HEX' ? 'hex' : 'base64'}`);
        if (scheme && storedAsBase64(scheme)) {
          encoded = bytes.toString('base64');
        } else {
          const decoded = decodeUtf8Strict(bytes);
          if (decoded === null) throw new LegacyHashError(`${shown} password hash does not decode to UTF-8 text`);
          encoded = decoded;
        }
      }
      if (name === 'CRYPT') {
        scheme = this.byCryptPrefix(encoded);
        if (!scheme) throw new LegacyHashError(`${shown} password hash is not a supported crypt format (${CRYPT_FORMATS})`);
      }
    } else {
      encoded = text;
      scheme = this.byCryptPrefix(text);
      if (!scheme) {
        throw new LegacyHashError(`password hash has no {SCHEME} prefix and is not a recognised crypt string (${CRYPT_FORMATS})`);
      }
    }
    if (!scheme) throw new LegacyHashError('password hash scheme could not be determined');
    if (encoded.length === 0) throw new LegacyHashError(`${scheme.name} password hash is empty`);
    const reason = scheme.check(encoded);
    if (reason !== null) throw new LegacyHashError(`malformed ${scheme.name} password hash: ${reason}`);
    return { scheme: scheme.name, encoded };
  }

  async verify(hash: LegacyHash, password: Buffer): Promise<boolean> {
    const scheme = this.get(hash.scheme);
    if (!scheme) throw new LegacyHashError(`unknown password scheme ${hash.scheme.toUpperCase()}`);
    // Re-checked on every use: the stored row may have been edited since
    // import, and the checks cap the work one verification may cost.
    const reason = scheme.check(hash.encoded);
    if (reason !== null) throw new LegacyHashError(`stored ${scheme.name} password hash is malformed: ${reason}`);
    // Dovecot and crypt() see the password as a C string, so a NUL would
    // truncate it there; refuse rather than match a prefix.
    if (password.includes(0)) return false;
    return scheme.verify(hash.encoded, password);
  }

  private byCryptPrefix(text: string): LegacyScheme | undefined {
    const hit = CRYPT_PREFIXES.find(([prefix]) => text.startsWith(prefix));
    return hit ? this.get(hit[1]) : undefined;
  }
}

const registry = new LegacySchemeRegistry();
for (const scheme of [argon2id, argon2i, blfCrypt, sha512Crypt, sha256Crypt, ssha512, ssha256, ssha, pbkdf2Scheme, plain]) {
  registry.register(scheme);
}

/** Adds a scheme to the process-wide registry; a name or alias already taken throws. */
export function registerLegacyScheme(scheme: LegacyScheme): void {
  registry.register(scheme);
}

/** The scheme registered under `name` (canonical or alias, any case). */
export function getLegacyScheme(name: string): LegacyScheme | undefined {
  return registry.get(name);
}

/**
 * Parses `{SCHEME}encoded`, `{SCHEME.B64|.BASE64|.HEX}encoded`, `{CRYPT}…` or a
 * bare crypt string into the scheme's canonical name and stored form (encoding
 * suffixes are undone here). Throws LegacyHashError if unknown or malformed.
 */
export function parseLegacyHash(text: string): LegacyHash {
  return registry.parse(text);
}

/**
 * True when `password` matches. Resolves false on a mismatch; rejects with
 * LegacyHashError if the stored hash is unknown or malformed, and with a plain
 * Error if the machinery fails (a worker thread died, the queue is full).
 */
export function verifyLegacy(hash: LegacyHash, password: Buffer): Promise<boolean> {
  return registry.verify(hash, password);
}

/** Canonical names of the supported schemes, sorted. */
export function legacySchemeNames(): string[] {
  return registry.names();
}

/** Stops the worker threads some verifiers use; for a clean shutdown. */
export function closeLegacyVerifiers(): Promise<void> {
  return closeShaCryptWorkers();
}
