import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon } from '../../src/cli/client.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { cli, startDaemonProcess, tempDir, testConfig, writeConfig } from '../helpers/env.js';

/** A passwd-file of `lines` users with well-formed SHA512-CRYPT hashes (parsed, never verified here). */
function passwdFile(lines: number, domain = 'import.example'): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`user${i}@${domain}:{SHA512-CRYPT}$6$salt${i % 1000}$${'x'.repeat(86)}::::::`);
  return `${out.join('\n')}\n`;
}

const generics = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM device WHERE kind = 'generic'`).pluck().get() as number;
  } finally {
    db.close();
  }
};

describe('import passwd-file: all or nothing, and the event loop keeps answering', () => {
  it('a daemon SIGKILLed in the middle of an import leaves none of it, or (had it answered) all of it', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const config = writeConfig(dir);
      const socket = path.join(dir, 'control.sock');
      const database = path.join(dir, 'devicepass.db');
      const file = path.join(dir, 'users.passwd');
      const LINES = 30_000;
      writeFileSync(file, passwdFile(LINES));
      const daemon = await startDaemonProcess(config, socket);
      const wal = `${database}-wal`;
      const walSize = () => {
        try {
          return statSync(wal).size;
        } catch {
          return 0;
        }
      };
      const before = walSize();
      let answered: number | null = null;
      const running = cli(['--config', config, 'import', 'passwd-file', file]).then((r) => (answered = r.code));
      // kill once the import is writing: its pages are reaching the WAL
      for (let i = 0; i < 3000 && walSize() < before + 4 * 1024 * 1024 && answered === null; i++) await new Promise((r) => setTimeout(r, 2));
      daemon.child.kill('SIGKILL');
      await daemon.stop();
      await running;
      const restarted = await startDaemonProcess(config, socket);
      await restarted.stop();
      const count = generics(database);
      if (answered === 0) expect(count).toBe(LINES);
      else expect([0, LINES]).toContain(count);
    } finally {
      cleanup();
    }
  }, 90_000);

  describe('in one process', () => {
    let daemon: Daemon;
    let cleanup: () => void;
    let socket: string;
    let phone: { password: string };

    beforeAll(async () => {
      const tmp = tempDir();
      cleanup = tmp.cleanup;
      daemon = await startDaemon(testConfig(tmp.dir, { auth: { failure_delay: 0, failure_delay_max: 0 } }));
      socket = daemon.config.control.socket;
      await daemon.admin.addAddress('hot@example.com', 'test');
      phone = await daemon.admin.addDevice('hot@example.com', { name: 'phone' }, 'test');
    });
    afterAll(async () => {
      await daemon?.stop();
      cleanup?.();
    });

    const hot = () =>
      daemon.authenticator.authenticate({ address: 'hot@example.com', password: phone.password, protocol: 'imap', clientIp: '192.0.2.1', trusted: false });

    it('hot logins are answered while a 20,000-line import runs, and the import lands whole', async () => {
      expect(await hot()).toMatchObject({ ok: true });
      let importing = true;
      const imported = callDaemon(socket, 'import.passwd-file', { content: passwdFile(20_000, 'bulk.example') }).finally(() => (importing = false));
      let during = 0;
      for (let i = 0; i < 100_000 && importing; i++) {
        if ((await hot()).ok) during++;
        await new Promise((r) => setImmediate(r));
      }
      expect(await imported).toMatchObject({ imported: 20_000, replaced: 0, unchanged: 0 });
      // the loop was never held for the whole import: logins went on between its slices
      expect(during).toBeGreaterThan(20);
      expect((await daemon.admin.listAddresses()).filter((a) => a.generic)).toHaveLength(20_000);
    }, 90_000);

    it('an administrative write waits for another process holding the write lock without blocking logins', async () => {
      const holder = spawn(process.execPath, ['-e', `
        const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
        const db = new Database(${JSON.stringify(daemon.store!.database.name)});
        db.exec('BEGIN IMMEDIATE');
        process.stdout.write('locked\\n');
        process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });
        setTimeout(() => { db.exec('COMMIT'); process.exit(0); }, 4000);
      `], { stdio: ['pipe', 'pipe', 'inherit'] });
      holder.stdin!.on('error', () => {}); // the holder may have let go and exited already
      const exited = new Promise((r) => holder.once('exit', r));
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        void exited.then(() => reject(new Error('the lock holder exited before taking the lock')));
      });
      const order: string[] = [];
      const admin = callDaemon(socket, 'address.add', { address: 'late@example.com' }).then((r) => {
        order.push('admin');
        return r;
      });
      // the write has reached the daemon and is waiting for the lock; a login over the same control socket comes after it
      await new Promise((r) => setTimeout(r, 100));
      const login = await callDaemon(socket, 'auth.test', { address: 'hot@example.com', password: phone.password, clientIp: '192.0.2.1' });
      order.push('login');
      holder.stdin!.write('go\n');
      expect(login).toMatchObject({ ok: true });
      expect(await admin).toEqual({ address: 'late@example.com' });
      expect(order).toEqual(['login', 'admin']);
      await exited;
    }, 60_000);
  });
});
