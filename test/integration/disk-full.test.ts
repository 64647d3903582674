import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../src/daemon.js';
import { silentLogger } from '../../src/log/logger.js';
import { cli, startDaemonProcess, tempDir, testConfig, writeConfig, type DaemonProcess } from '../helpers/env.js';

const ADDRESS = 'full@example.com';
const isRoot = process.getuid?.() === 0;

/** Fills the filesystem holding `dir` to the last byte; returns the filler's path. */
function fillDisk(dir: string, name = 'filler'): string {
  const file = path.join(dir, name);
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let i = 0; i < 10_000; i++) {
      try {
        writeSync(fd, chunk);
      } catch {
        break; // ENOSPC: the 64 KiB chunk no longer fits; now byte by byte
      }
    }
    const byte = Buffer.alloc(4096, 1);
    for (let i = 0; i < 10_000; i++) {
      try {
        writeSync(fd, byte);
      } catch {
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

/**
 * On a small filesystem made by the test (a size-limited tmpfs), filled to
 * the last byte: a revocation still goes through and is seen by every
 * process on the store; login records are dropped first and counted; an
 * administrative write that cannot be made fails loudly.
 */
describe.skipIf(!isRoot)('a full disk', () => {
  let dir: string;
  let cleanup: () => void;
  let daemon: DaemonProcess;
  let config: string;
  let core: ReturnType<typeof createCore>;

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('dpf'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'tmpfs', dir]);
    config = writeConfig(dir, '[store]\nreserve_mib = 1\n[dovecot_auth]\nlisten = []', { http: 'listen = ["127.0.0.1:0"]' });
    daemon = await startDaemonProcess(config, path.join(dir, 'control.sock'));
    core = createCore(testConfig(dir, { store: { reserve_mib: 1 } }), silentLogger);
  });
  afterAll(async () => {
    core?.store.close();
    await daemon?.stop();
    try {
      execFileSync('umount', [dir]);
    } finally {
      cleanup();
    }
  });

  const run = (args: string[], input?: string) => cli(['--config', config, ...args], input);
  const addDevice = async (name: string) => {
    const result = await run(['--json', 'device', 'add', ADDRESS, '--name', name]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { id: string; password: string };
  };
  const here = (password: string) =>
    core.authenticator.authenticate({ address: ADDRESS, password, protocol: 'imap', clientIp: '192.0.2.5', trusted: false });
  const metrics = async () => {
    const status = JSON.parse((await run(['--json', 'status'])).stdout) as { surfaces: { http: string[] } };
    const response = await fetch(`http://${status.surfaces.http[0]}/metrics`);
    return response.text();
  };

  it('revoke goes through, every process refuses the device, login records are dropped and counted, admin writes fail loudly', async () => {
    expect((await run(['address', 'add', ADDRESS])).code).toBe(0);
    const phone = await addDevice('phone');
    const keeper = await addDevice('keeper');
    // both processes hold a proof for the phone
    expect((await run(['auth', 'test', ADDRESS], phone.password)).code).toBe(0);
    expect(await here(phone.password)).toMatchObject({ ok: true });

    // an empty WAL: the revocation below needs new blocks, which a full disk no longer has
    core.store.database.pragma('wal_checkpoint(TRUNCATE)');
    const filler = fillDisk(dir);
    try {
      // logins on a full disk: answered, their records dropped unwritten
      for (let i = 0; i < 20; i++) expect(await here(keeper.password)).toMatchObject({ ok: true });
      core.recorder.flush();
      expect(core.recorder.stats().dropped).toBeGreaterThan(0);
      expect((await run(['auth', 'test', ADDRESS], 'not the password, no')).code).toBe(1);
      expect((await run(['log', ADDRESS])).code).toBe(0);
      expect(await metrics()).toMatch(/^devicepass_login_records_dropped_total [1-9]\d*$/m);

      const revoke = await run(['device', 'revoke', ADDRESS, phone.id]);
      expect(revoke.stderr).toBe('');
      expect(revoke.code).toBe(0);
      expect(await metrics()).toMatch(/^devicepass_disk_reserve_held 0$/m);
      // refused from then on, by the daemon that revoked and by the other process holding a cached proof
      const refused = await run(['auth', 'test', ADDRESS], phone.password);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('revoked');
      expect(await here(phone.password)).toMatchObject({ ok: false, reason: 'revoked' });

      // the reserve is spent: with the disk filled again, administrative writes either work or fail loudly, never as an internal error
      const again = fillDisk(dir, 'filler-again');
      try {
        for (let i = 0; i < 5; i++) {
          const result = await run(['device', 'add', ADDRESS, '--name', `extra ${i}`, '--json']);
          if (result.code !== 0) expect(result.stderr).toMatch(/disk holding the database is full/);
        }
      } finally {
        rmSync(again);
      }
      expect(await here(phone.password)).toMatchObject({ ok: false, reason: 'revoked' });
      expect(await here(keeper.password)).toMatchObject({ ok: true });
    } finally {
      rmSync(filler);
    }
    // with room again, the revocation is still there, and writes work
    expect(await here(phone.password)).toMatchObject({ ok: false, reason: 'revoked' });
    expect((await run(['device', 'add', ADDRESS, '--name', 'after'])).code).toBe(0);
  }, 120_000);
});
