import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon } from '../../src/cli/client.js';
import { DAEMON_NODE_FLAGS } from '../../src/daemon-node-flags.js';
import { freePort } from '../../scripts/e2e/host.js';
import { canConnect, ROOT, startDaemonProcess, tempDir, writeConfig, type DaemonProcess } from '../helpers/env.js';

const ADDRESS = 'crash@example.com';
const CYCLES = 3;

/** A config named `name` under `dir`: HTTP on `port`, the control socket at `control`, the Dovecot auth socket on. */
function writeDaemonConfig(dir: string, name: string, port: number, control = 'control.sock'): string {
  return writeConfig(dir, `[control]\nsocket = ${JSON.stringify(control)}\n[dovecot_auth]\nlisten = ["auth.sock"]`, { http: `listen = ["127.0.0.1:${port}"]` }, name);
}

interface Device { id: string; password: string }

/** Polls `check` until it holds, for at most 10 s. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * SIGKILL in the middle of administrative writes and logins, then restart:
 * the database is consistent, nothing acknowledged is lost, nothing revoked
 * comes back, and every socket and listener is back (the stale socket files
 * the killed process left are replaced). A second daemon never takes the
 * live socket of a running one.
 */
describe('crash safety', () => {
  let dir: string;
  let cleanup: () => void;
  let config: string;
  let port: number;
  let daemon: DaemonProcess | undefined;
  const control = () => path.join(dir, 'control.sock');

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('dpc'));
    port = await freePort();
    config = writeDaemonConfig(dir, 'devicepass.toml', port);
  });
  afterAll(async () => {
    await daemon?.stop();
    cleanup();
  });

  const call = (op: string, args: Record<string, unknown>) => callDaemon(control(), op, args);
  const healthy = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;

  it(`survives ${CYCLES} SIGKILLs during admin writes and logins`, async () => {
    daemon = await startDaemonProcess(config, control());
    await call('address.add', { address: ADDRESS });
    const active = new Map<string, Device>();
    const revoked = new Map<string, Device>();

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      let stop = false;
      /** A revoke sent but not answered when the daemon died: it may or may not have been made. */
      let unanswered: string | null = null;
      const admin = (async () => {
        for (let i = 0; i < 10_000 && !stop; i++) {
          try {
            if (i % 3 === 2 && active.size > 1) {
              const [id, device] = [...active][0]!;
              unanswered = id;
              await call('device.revoke', { address: ADDRESS, device: id });
              unanswered = null;
              active.delete(id);
              revoked.set(id, device);
            } else {
              const made = (await call('device.add', { address: ADDRESS, name: `c${cycle} d${i}` })) as Device;
              active.set(made.id, made);
            }
          } catch {
            return; // the daemon is gone: whatever was not answered was not acknowledged
          }
        }
      })();
      const logins = (async () => {
        for (let i = 0; i < 10_000 && !stop; i++) {
          const pick = [...active.values()].at(-1) ?? [...revoked.values()].at(-1);
          try {
            await call('auth.test', { address: ADDRESS, password: i % 4 === 0 ? 'a wrong password here' : pick?.password ?? 'x', clientIp: `192.0.2.${i % 200}` });
          } catch {
            return;
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 400 + 200 * cycle));
      daemon.child.kill('SIGKILL');
      await daemon.stop();
      stop = true;
      await Promise.all([admin, logins]);

      const db = new Database(path.join(dir, 'devicepass.db'));
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.pragma('foreign_key_check')).toEqual([]);
        const state = db.prepare('SELECT state FROM device WHERE id = ?').pluck();
        for (const id of active.keys()) if (id !== unanswered) expect(state.get(Number(id))).toBe('active');
        if (unanswered !== null && state.get(Number(unanswered)) === 'revoked') {
          revoked.set(unanswered, active.get(unanswered)!);
          active.delete(unanswered);
        }
        for (const id of revoked.keys()) expect(state.get(Number(id))).toBe('revoked');
      } finally {
        db.close();
      }

      // the killed daemon left its socket files behind: the next one replaces them and listens again
      daemon = await startDaemonProcess(config, control());
      // the fronts start after the control socket answers
      expect(await eventually(() => canConnect(path.join(dir, 'auth.sock')))).toBe(true);
      expect(await eventually(async () => (await healthy().catch(() => 0)) === 200)).toBe(true);
      for (const device of [...revoked.values()].slice(-3)) {
        expect(await call('auth.test', { address: ADDRESS, password: device.password })).toMatchObject({ ok: false, reason: 'revoked' });
      }
      for (const device of [...active.values()].slice(-2)) {
        expect(await call('auth.test', { address: ADDRESS, password: device.password })).toMatchObject({ ok: true });
      }
    }
    expect(active.size + revoked.size).toBeGreaterThan(CYCLES);
    expect(revoked.size).toBeGreaterThan(0);
  }, 120_000);

  it("a second daemon does not take the running daemon's live sockets", async () => {
    daemon ??= await startDaemonProcess(config, control());
    expect(await eventually(() => canConnect(path.join(dir, 'auth.sock')))).toBe(true);
    // its own control socket, but the same Dovecot auth socket
    const second = writeDaemonConfig(dir, 'second.toml', await freePort(), 'second.sock');
    const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, path.join(ROOT, 'bin', 'devicepassd.js'), '--config', second], { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGTERM');
        resolve(null);
      }, 15_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(await canConnect(path.join(dir, 'auth.sock'))).toBe(true);
    expect(await call('status', {})).toMatchObject({ pid: daemon.child.pid });
  }, 60_000);
});
