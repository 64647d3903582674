import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { ERRORS } from '../../src/errors/catalogue.js';
import { ROOT } from '../helpers/env.js';

const doc = (name: string) => readFileSync(path.join(ROOT, 'docs', name), 'utf8');

describe('the docs keep step with the code', () => {
  it('docs/errors.md lists every catalogue code with its exit code, and nothing else', () => {
    const rows = [...doc('errors.md').matchAll(/^\| `([A-Z_]+)` \| (.+?) \| (\d) \|$/gm)].map((m) => [m[1], m[2], Number(m[3])]);
    expect(rows).toEqual(Object.entries(ERRORS).map(([code, spec]) => [code, spec.message, spec.exit]));
  });

  it('docs/configuration.md documents every configuration key', () => {
    const text = doc('configuration.md');
    const keys: string[] = [];
    const walk = (value: unknown, prefix: string) => {
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        if (key === 'file') continue;
        if (child && typeof child === 'object' && !Array.isArray(child) && key !== 'aliases') walk(child, `${prefix}${key}.`);
        else keys.push(`${prefix}${key}`);
      }
    };
    walk(buildConfig({}), '');
    const missing = keys.filter((key) => {
      const leaf = key.split('.').pop()!;
      return !text.includes(`\`${leaf}\``) && !text.includes(`\`${leaf},`) && !new RegExp(`\`[a-z_]+\`, \`${leaf}\``).test(text);
    });
    expect(missing).toEqual([]);
  });
});
