import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout (or installed package) root, found by walking up to our
 * package.json: the same answer whether the code runs from src/ under the
 * test runner or from dist/src/ after the build.
 */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate) && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'devicepass') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the devicepass package root');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findRoot();

export const VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
