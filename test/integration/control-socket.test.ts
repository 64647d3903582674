import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { tempDir, testConfig } from '../helpers/env.js';

/** Raw requests, as a careless or hostile local client would send them. */
describe('control socket robustness', () => {
  let daemon: Daemon;
  let socket: string;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    daemon = await startDaemon(testConfig(tmp.dir, { control: { max_request_bytes: 4096 } }));
    socket = path.join(tmp.dir, 'control.sock');
  });
  afterAll(async () => {
    await daemon.stop();
    cleanup();
  });

  /** Sends raw bytes and collects the response lines until the server closes or `count` lines arrived. */
  function exchange(payload: string | Buffer, count: number): Promise<Array<Record<string, unknown>>> {
    return new Promise((resolve, reject) => {
      const client = net.connect(socket);
      let text = '';
      const finish = () => {
        client.destroy();
        resolve(text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
      };
      client.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.split('\n').filter(Boolean).length >= count) finish();
      });
      client.on('close', finish);
      client.on('error', reject);
      client.write(payload);
    });
  }

  it('answers malformed requests with an error and keeps the connection usable', async () => {
    const responses = await exchange(['not json', '[1,2]', '{"op": 5}', '{"op":"nope"}', '{"op":"status","args":[]}', '{"id":7,"op":"status"}', ''].join('\n'), 6);
    expect(responses.map((r) => (r.error as { code: string } | undefined)?.code ?? 'ok')).toEqual([
      'REQUEST_INVALID', 'REQUEST_INVALID', 'REQUEST_INVALID', 'OPERATION_UNKNOWN', 'REQUEST_INVALID', 'ok',
    ]);
    expect(responses[5]).toMatchObject({ id: 7, ok: true });
  });

  it('refuses an oversized request and stays up', async () => {
    const responses = await exchange(`{"op":"status","args":{"pad":"${'x'.repeat(10_000)}"}}\n`, 1);
    expect(responses[0]).toMatchObject({ ok: false, error: { code: 'REQUEST_TOO_LARGE' } });
    expect((await exchange('{"op":"status"}\n', 1))[0]).toMatchObject({ ok: true });
  });

  it('survives arguments of the wrong types and early disconnects', async () => {
    const weird = [
      { op: 'device.add', args: { address: 42, name: ['x'] } },
      { op: 'device.add', args: { address: 'a@b.c', name: { toString: 1 } } },
      { op: 'device.revoke', args: { address: null, device: -1 } },
      { op: 'log', args: { limit: 1e12 } },
      { op: 'auth.test', args: { address: 'a@b.c', password: 12 } },
      { op: 'import.passwd-file', args: { content: 7 } },
    ];
    const responses = await exchange(weird.map((w) => JSON.stringify(w)).join('\n') + '\n', weird.length);
    expect(responses).toHaveLength(weird.length);
    for (const r of responses) expect(r.ok).toBe(false);
    const half = net.connect(socket);
    half.write('{"op":"sta');
    half.destroy();
    expect((await exchange('{"op":"status"}\n', 1))[0]).toMatchObject({ ok: true });
  });

  it('with a configured group the socket is 0660 and group-owned', async () => {
    const tmp = tempDir();
    const grouped = await startDaemon(testConfig(tmp.dir, { control: { group: 'root' } }));
    try {
      const stat = statSync(path.join(tmp.dir, 'control.sock'));
      expect(stat.mode & 0o777).toBe(0o660);
      expect(stat.gid).toBe(0);
    } finally {
      await grouped.stop();
      tmp.cleanup();
    }
  });

  it('refuses to start a second daemon on a live socket', async () => {
    await expect(startDaemon(daemon.config)).rejects.toThrow(/already listening/);
    expect((await exchange('{"op":"status"}\n', 1))[0]).toMatchObject({ ok: true });
  });
});
