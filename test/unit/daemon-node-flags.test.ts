import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../src/daemon-node-flags.js';
import { ROOT } from '../helpers/env.js';

describe('the Node flags devicepassd runs with', () => {
  it('are the same in the bin shebang and in npm start', () => {
    const env = Object.entries(DAEMON_ENV).map(([name, value]) => `${name}=${value}`).join(' ');
    const shebang = readFileSync(path.join(ROOT, 'bin', 'devicepassd.js'), 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S ${env} node ${DAEMON_NODE_FLAGS.join(' ')}`);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`${env} node ${DAEMON_NODE_FLAGS.join(' ')} bin/devicepassd.js`);
  });

  it('cap the young generation that a burst of allocation would otherwise grow to 32 MiB', () => {
    // Allocates like a burst of logins (short-lived objects, some kept a while), then reports new space.
    const script = `
      const v8 = require('node:v8');
      const keep = [];
      for (let i = 0; i < 2e6; i++) { const o = { i, s: 'x' + i }; if (i % 10 === 0) keep.push(o); if (keep.length > 50000) keep.length = 0; }
      process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size));`;
    const newSpace = (flags: readonly string[]) => Number(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' }));
    expect(newSpace(DAEMON_NODE_FLAGS)).toBeLessThanOrEqual(8 * 2 ** 20);
    expect(newSpace([])).toBeGreaterThan(8 * 2 ** 20);
  });
});
