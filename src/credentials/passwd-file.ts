import { LegacyHashError, parseLegacyHash } from './schemes/registry.js';
import type { LegacyHash } from './schemes/types.js';

/**
 * Reads a Dovecot passwd-file (`user:{SCHEME}hash:uid:gid:gecos:home:shell:extra`)
 * for import. Only the user and password fields matter here; the rest, if
 * present, is ignored. Bad lines are collected rather than thrown so that an
 * administrator sees every problem in one pass.
 *
 * Messages never quote the password field: for {PLAIN} it is the password.
 * Nor do they quote the user field, since a line missing its ':' may have
 * the hash there.
 */

export interface PasswdFileEntry {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly user: string;
  readonly hash: LegacyHash;
}

export interface PasswdFileError {
  readonly line: number;
  readonly message: string;
}

export interface PasswdFile {
  readonly entries: PasswdFileEntry[];
  readonly errors: PasswdFileError[];
}

export function parsePasswdFile(text: string): PasswdFile {
  const entries: PasswdFileEntry[] = [];
  const errors: PasswdFileError[] = [];
  const firstLine = new Map<string, number>();
  // A BOM from a Windows editor would otherwise become part of the first user.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);

  lines.forEach((raw, index) => {
    const line = index + 1;
    // A lone trailing CR survives the split when the file mixes line endings.
    const content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = content.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;

    const fail = (message: string): void => {
      errors.push({ line, message });
    };
    const colon = content.indexOf(':');
    if (colon < 0) return fail('missing ":" between user and password');
    const user = content.slice(0, colon).trim();
    if (user === '') return fail('empty user name');
    // The password field runs to the next ':'; passwd-file has no escaping,
    // so a password can never contain one.
    const rest = content.slice(colon + 1);
    const end = rest.indexOf(':');
    const field = end < 0 ? rest : rest.slice(0, end);
    if (field === '') return fail('empty password field');

    let hash: LegacyHash;
    try {
      hash = parseLegacyHash(field);
    } catch (error) {
      if (error instanceof LegacyHashError) return fail(error.message);
      throw error;
    }
    const seen = firstLine.get(user);
    if (seen !== undefined) return fail(`duplicate user, first defined on line ${seen}`);
    firstLine.set(user, line);
    entries.push({ line, user, hash });
  });

  return { entries, errors };
}
