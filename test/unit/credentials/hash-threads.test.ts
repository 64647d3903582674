import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashConcurrency, libuvPoolSize } from '../../../src/credentials/hash-threads.js';
import { ROOT, tempDir } from '../../helpers/env.js';

/** The environment assignments and Node flags of bin/devicepassd.js's first line: how the daemon is launched. */
function launch(): { env: Record<string, string>; flags: string[] } {
  const words = readFileSync(path.join(ROOT, 'bin', 'devicepassd.js'), 'utf8').split('\n')[0]!.replace('#!/usr/bin/env -S ', '').split(' ');
  const node = words.indexOf('node');
  return {
    env: Object.fromEntries(words.slice(0, node).map((w) => w.split('=') as [string, string])),
    flags: words.slice(node + 1),
  };
}

describe('hash threads', () => {
  it('never lets more hashes run than libuv has threads for, keeping threads for file and DNS work', () => {
    expect(hashConcurrency(0, 4, 16)).toBe(2);
    expect(hashConcurrency(0, 20, 16)).toBe(16);
    expect(hashConcurrency(0, 20, 2)).toBe(2);
    expect(hashConcurrency(64, 20, 2)).toBe(16);
    expect(hashConcurrency(3, 20, 16)).toBe(3);
    expect(hashConcurrency(8, 1, 16)).toBe(1);
    expect(libuvPoolSize({ UV_THREADPOOL_SIZE: '20' })).toBe(20);
    expect(libuvPoolSize({})).toBe(4);
    expect(libuvPoolSize({ UV_THREADPOOL_SIZE: 'many' })).toBe(4);
  });

  it('launched as devicepassd is, libuv starts enough threads that 8 hashes in flight leave 4 for file system calls', () => {
    const { dir, cleanup } = tempDir();
    try {
      const dist = (file: string) => JSON.stringify(path.join(ROOT, 'dist', 'src', file));
      // libuv starts its whole pool at the first call that needs it (the module loader's reads): the
      // pool is the thread count less that of the same process on a pool of one, plus one. Counted,
      // not timed: with 8 hashes on 2 cores the event loop itself waits for the CPU (a stat's callback
      // measured 0.2-2 s late in a loaded run), which says nothing of the pool.
      const script = `
        import { readdirSync, stat } from 'node:fs';
        import { createCore } from ${dist('daemon.js')};
        import { buildConfig } from ${dist('config/load.js')};
        import { silentLogger } from ${dist('log/logger.js')};
        await new Promise((resolve) => stat('/', resolve));
        const threads = readdirSync('/proc/self/task').length;
        const config = buildConfig({
          data_dir: ${JSON.stringify(dir)}, log: { level: 'silent' },
          hashing: { memory_kib: 8192, iterations: 1, parallelism: 1, concurrency: 8 },
          imap: { listen: [], listen_tls: [] }, smtp: { listen: [], listen_tls: [] }, http: { listen: [] },
        });
        const core = createCore(config, silentLogger);
        const logins = Array.from({ length: 12 }, (_, i) => core.authenticator.authenticate({
          address: 'user' + i + '@example.com', password: 'password ' + i, protocol: 'imap', clientIp: '127.0.0.1', trusted: true,
        }));
        // the logins read the store before they queue their hash: one turn of the loop later the queue is full
        await new Promise((resolve) => setImmediate(resolve));
        const { running, queued } = core.queue.stats();
        await Promise.all(logins);
        core.store.close();
        process.stdout.write(JSON.stringify({ threads, running, queued }));`;
      const { env, flags } = launch();
      const run = (pool: Record<string, string>) =>
        JSON.parse(execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...pool } })) as {
          threads: number; running: number; queued: number;
        };
      const launched = run(env);
      const single = run({ ...env, UV_THREADPOOL_SIZE: '1' });
      const pool = launched.threads - single.threads + 1;
      expect(pool).toBe(libuvPoolSize(env));
      expect({ running: launched.running, queued: launched.queued }).toEqual({ running: 8, queued: 4 });
      expect(pool - launched.running).toBeGreaterThanOrEqual(4);
    } finally {
      cleanup();
    }
  });
});
