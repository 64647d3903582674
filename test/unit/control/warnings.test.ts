import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { callDaemon } from '../../../src/cli/client.js';
import type { ControlContext } from '../../../src/control/operations.js';
import { ControlServer } from '../../../src/control/server.js';
import { warnCaller } from '../../../src/errors/warnings.js';
import { createLogger } from '../../../src/log/logger.js';

/** One raw request line, one raw response object. */
async function raw(socketPath: string, request: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.write(`${JSON.stringify(request)}\n`));
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (!text.includes('\n')) return;
      socket.destroy();
      resolve(JSON.parse(text.split('\n')[0]!) as Record<string, unknown>);
    });
    socket.on('error', reject);
  });
}

describe('warnings for the caller of a control request', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('a warning given while a request ran comes back with its answer (and only its own), and the CLI prints it on stderr', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dp-warn-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const socketPath = path.join(dir, 'control.sock');
    // only what the two operations below use: a revocation that is committed with a caveat, and one without
    const ctx = {
      admin: {
        revokeDevice: async (_address: unknown, device: unknown) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (device === '7') warnCaller('the change is committed, but node x did not confirm it');
          return { id: device };
        },
      },
    };
    const server = new ControlServer(ctx as unknown as ControlContext, { socketPath, group: '', maxRequestBytes: 1 << 20 }, createLogger('silent'));
    await server.listen();
    cleanups.push(() => server.close());

    const [warned, plain] = await Promise.all([
      raw(socketPath, { id: 1, op: 'device.revoke', args: { address: 'a@example.com', device: '7' } }),
      raw(socketPath, { id: 2, op: 'device.revoke', args: { address: 'a@example.com', device: '8' } }),
    ]);
    expect(warned).toEqual({ id: 1, ok: true, result: { id: '7' }, warnings: ['the change is committed, but node x did not confirm it'] });
    expect(plain).toEqual({ id: 2, ok: true, result: { id: '8' } });

    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await callDaemon(socketPath, 'device.revoke', { address: 'a@example.com', device: '7' })).toEqual({ id: '7' });
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toBe('devicepass: warning: the change is committed, but node x did not confirm it\n');
  });
});
