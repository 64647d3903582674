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
  const parser = new PasswdFileParser(text);
  while (parser.step(Infinity)) {
    // one step reads the whole file
  }
  return parser.result;
}

/**
 * The same parse in slices of at most `sliceMs` of work, yielding to the
 * event loop in between: a 100,000-line file takes some 300 ms to parse,
 * far more than a login may wait.
 */
export async function parsePasswdFileInSlices(text: string, sliceMs: number): Promise<PasswdFile> {
  const parser = new PasswdFileParser(text);
  while (parser.step(sliceMs)) await new Promise<void>((resolve) => setImmediate(resolve));
  return parser.result;
}

/** Checks the clock every this many lines (performance.now is not free). */
const LINES_PER_CLOCK_CHECK = 256;

class PasswdFileParser {
  readonly #text: string;
  readonly #firstLine = new Map<string, number>();
  readonly result: PasswdFile = { entries: [], errors: [] };
  /** Where the next line starts; past the end when done. */
  #at = 0;
  #line = 0;

  constructor(text: string) {
    // A BOM from a Windows editor would otherwise become part of the first user.
    this.#text = text.replace(/^\uFEFF/, '');
  }

  /**
   * Parses lines for up to `budgetMs`; returns whether lines are left. Lines
   * are found one by one (no split of the whole text, which alone holds the
   * event loop for tens of ms on a large file).
   */
  step(budgetMs: number): boolean {
    const deadline = performance.now() + budgetMs;
    const text = this.#text;
    while (this.#at <= text.length) {
      const nl = text.indexOf('\n', this.#at);
      const end = nl < 0 ? text.length : nl;
      this.#line++;
      // a CRLF file's CR goes with the split, as /\r?\n/ would take it
      this.#parseLine(text.slice(this.#at, end > this.#at && text.charCodeAt(end - 1) === 13 && nl >= 0 ? end - 1 : end), this.#line);
      this.#at = end + 1;
      if (this.#line % LINES_PER_CLOCK_CHECK === 0 && performance.now() > deadline) break;
    }
    return this.#at <= text.length;
  }

  #parseLine(raw: string, line: number): void {
    const { entries, errors } = this.result;
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
    const seen = this.#firstLine.get(user);
    if (seen !== undefined) return fail(`duplicate user, first defined on line ${seen}`);
    this.#firstLine.set(user, line);
    entries.push({ line, user, hash });
  }
}
