import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeServer, listenOn } from '../../../src/net/listen.js';
import { canConnect, tempDir } from '../../helpers/env.js';

describe('listenOn a Unix socket', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('refuses a socket another server is listening on, and leaves that server reachable', async () => {
    const file = path.join(dir, 'live.sock');
    // probes connect and hang up at once: their resets are expected
    const first = net.createServer((s) => s.on('error', () => {}).end());
    await listenOn(first, file);
    const second = net.createServer();
    await expect(listenOn(second, file)).rejects.toThrow(/already listening/);
    expect(await canConnect(file)).toBe(true);
    await closeServer(first);
  });

  it('replaces the socket file a killed process left behind', async () => {
    const file = path.join(dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(file)).toBe(true);
    expect(await canConnect(file)).toBe(false);
    const server = net.createServer();
    await listenOn(server, file);
    expect(await canConnect(file)).toBe(true);
    await closeServer(server);
  });
});
