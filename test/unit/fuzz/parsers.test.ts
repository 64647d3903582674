/**
 * Property-based fuzzing of every parser of outside input (the targets are in
 * test/helpers/fuzz/parser-targets.ts; scripts/fuzz.ts runs them longer). A
 * failure prints the seed and path that replay it: FUZZ_SEED=… npx vitest run …
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { PARSER_TARGETS } from '../../helpers/fuzz/parser-targets.js';
import { fuzzParameters } from '../../helpers/fuzz/settings.js';

describe('fuzz: parsers', () => {
  for (const target of PARSER_TARGETS) {
    it(target.name, async () => {
      await fc.assert(target.property(), fuzzParameters(target.defaultRuns));
    }, 60_000);
  }
});
