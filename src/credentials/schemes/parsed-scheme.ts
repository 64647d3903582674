import type { LegacyScheme } from './types.js';

/** A parser gives the stored form's parts, or the reason it is malformed. */
export type Parse<T> = (encoded: string) => T | string;

/**
 * Builds a scheme from its parser and a verifier of the parsed parts: `check`
 * reports the parser's reason, and `verify` refuses (never throws) a stored
 * form that does not parse.
 */
export function parsedScheme<T extends object>(
  meta: { name: string; aliases?: readonly string[]; weak: boolean },
  parse: Parse<T>,
  verifyParsed: (parsed: T, password: Buffer) => Promise<boolean>,
): LegacyScheme {
  return {
    name: meta.name,
    aliases: meta.aliases ?? [],
    weak: meta.weak,
    check(encoded) {
      const parsed = parse(encoded);
      return typeof parsed === 'string' ? parsed : null;
    },
    async verify(encoded, password) {
      const parsed = parse(encoded);
      return typeof parsed === 'string' ? false : verifyParsed(parsed, password);
    },
  };
}
