import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { createCore } from '../../src/daemon.js';
import { silentLogger } from '../../src/log/logger.js';
import { cli, FAST_HASHING, startDaemonProcess, tempDir, writeConfig, type DaemonProcess } from '../helpers/env.js';

/**
 * "Immediately" means: once the revoke/reset command has returned, no login
 * with the old password succeeds — not from a cache, not in another process.
 * This process holds the passwords in its proof cache; the change is made by
 * a second devicepassd process on the same database file, through the CLI.
 */
describe('immediate revocation across processes', () => {
  let dir: string;
  let cleanup: () => void;
  let other: DaemonProcess;
  let config: string;
  let core: ReturnType<typeof createCore>;
  const ADDRESS = 'race@example.com';

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir());
    config = writeConfig(dir);
    other = await startDaemonProcess(config, path.join(dir, 'control.sock'));
    core = createCore(buildConfig({ data_dir: dir, hashing: FAST_HASHING }), silentLogger);
    expect((await cli(['--config', config, 'address', 'add', ADDRESS])).code).toBe(0);
  });
  afterAll(async () => {
    core?.store.close();
    await other?.stop();
    cleanup();
  });

  const addDevice = async (name: string, extra: string[] = []) => {
    const result = await cli(['--config', config, '--json', 'device', 'add', ADDRESS, '--name', name, ...extra]);
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as { id: string; password: string };
  };
  const login = (password: string) =>
    core.authenticator.authenticate({ address: ADDRESS, password, protocol: 'imap', clientIp: '127.0.0.1', trusted: true });

  /** Logs in continuously while `change` runs; returns the start times of successes and when the change returned. */
  async function hammer(password: string, change: () => Promise<unknown>) {
    const successes: number[] = [];
    const failures: string[] = [];
    let returnedAt = Infinity;
    let done = false;
    const loop = (async () => {
      while (!done) {
        const started = performance.now();
        const result = await login(password);
        if (result.ok) successes.push(started);
        else failures.push(result.reason);
        await new Promise((r) => setImmediate(r));
      }
    })();
    await change();
    returnedAt = performance.now();
    // keep trying for a while after the command returned
    await new Promise((r) => setTimeout(r, 300));
    done = true;
    await loop;
    return { successes, failures, returnedAt };
  }

  it('revoke: zero successful logins after the command returns, even with the password cached here', async () => {
    const phone = await addDevice('iPhone');
    const keeper = await addDevice('Keeper');
    expect(await login(phone.password)).toMatchObject({ ok: true });
    expect(await login(phone.password)).toMatchObject({ ok: true, cached: true });
    const { successes, failures, returnedAt } = await hammer(phone.password, () =>
      cli(['--config', config, 'device', 'revoke', ADDRESS, phone.id]),
    );
    expect(successes.length).toBeGreaterThan(0);
    expect(successes.filter((t) => t > returnedAt)).toEqual([]);
    expect(failures.length).toBeGreaterThan(0);
    expect(new Set(failures)).toEqual(new Set(['revoked']));
    expect(await login(keeper.password)).toMatchObject({ ok: true });
  });

  it('reset: the old password stops at once; the new one works here without a restart', async () => {
    const device = await addDevice('Outlook');
    expect(await login(device.password)).toMatchObject({ ok: true });
    let fresh = '';
    const { successes, returnedAt } = await hammer(device.password, async () => {
      const result = await cli(['--config', config, '--json', 'device', 'reset', ADDRESS, device.id]);
      fresh = (JSON.parse(result.stdout) as { password: string }).password;
    });
    expect(successes.filter((t) => t > returnedAt)).toEqual([]);
    expect(await login(device.password)).toMatchObject({ ok: false, reason: 'reset-away', cached: true });
    expect(await login(fresh)).toMatchObject({ ok: true, deviceName: 'Outlook' });
  });

  it('revoke-all: every cached device stops at once', async () => {
    const a = await addDevice('A');
    const b = await addDevice('B');
    for (const d of [a, b]) expect((await login(d.password)).ok).toBe(true);
    const { successes, returnedAt } = await hammer(a.password, () => cli(['--config', config, 'device', 'revoke-all', ADDRESS, '--yes']));
    expect(successes.filter((t) => t > returnedAt)).toEqual([]);
    expect(await login(b.password)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('expiry: a cached password stops once its expiry passes', async () => {
    const intern = await addDevice('Intern', ['--expires', '2s']);
    expect(await login(intern.password)).toMatchObject({ ok: true });
    expect(await login(intern.password)).toMatchObject({ ok: true, cached: true });
    await new Promise((r) => setTimeout(r, 2100));
    expect(await login(intern.password)).toMatchObject({ ok: false, reason: 'expired' });
  });
});
