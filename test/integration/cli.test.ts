import { readdirSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { cli, startDaemonProcess, tempDir, writeConfig, ROOT, type DaemonProcess } from '../helpers/env.js';

/**
 * The README's walk-through, driven exactly as an administrator would: a real
 * devicepassd process and the real `devicepass` CLI over the control socket.
 */
describe('devicepass CLI against a running daemon', () => {
  let daemon: DaemonProcess;
  let dir: string;
  let cleanup: () => void;
  let config: string;
  const run = (args: string[], input?: string) => cli(['--config', config, ...args], input);
  const json = async (args: string[], input?: string) => {
    const result = await run(['--json', ...args], input);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as unknown;
  };
  const passwords: string[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir());
    config = writeConfig(dir);
    daemon = await startDaemonProcess(config, path.join(dir, 'control.sock'));
  });
  afterAll(async () => {
    await daemon?.stop();
    // the password is shown once, on the CLI's stdout, and never reaches the daemon's log
    for (const password of passwords) {
      expect(daemon.logs()).not.toContain(password);
      expect(daemon.logs()).not.toContain(password.replace(/ /g, ''));
    }
    cleanup();
  });

  it('makes the control socket owner-only', () => {
    expect(statSync(path.join(dir, 'control.sock')).mode & 0o777).toBe(0o600);
  });

  it('adds an address and three devices, each logging in, then revokes one', async () => {
    expect((await run(['address', 'add', 'Alice@Example.com'])).stdout).toContain('added alice@example.com');
    const devices = [];
    for (const name of ['iPhone', 'Outlook', 'Scanner']) {
      const device = (await json(['device', 'add', 'alice@example.com', '--name', name])) as { id: string; name: string; password: string };
      expect(device.password).toMatch(/^[a-z]{4}( [a-z]{4}){5}$/);
      passwords.push(device.password);
      devices.push(device);
    }
    for (const device of devices) {
      const test = await run(['auth', 'test', 'alice@example.com'], `${device.password}\n`);
      expect(test.code).toBe(0);
      expect(test.stdout).toContain(`"${device.name}"`);
    }
    const revoke = await run(['device', 'revoke', 'alice@example.com', devices[0]!.id]);
    expect(revoke.code).toBe(0);
    const refused = await run(['auth', 'test', 'alice@example.com'], `${devices[0]!.password}\n`);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('revoked device "iPhone"');
    for (const device of devices.slice(1)) expect((await run(['auth', 'test', 'alice@example.com'], device.password)).code).toBe(0);

    const list = (await json(['device', 'list', 'alice@example.com'])) as Array<Record<string, unknown>>;
    expect(list.map((d) => [d.name, d.state])).toEqual([['iPhone', 'revoked'], ['Outlook', 'active'], ['Scanner', 'active']]);
    for (const d of list) expect(Object.keys(d)).toEqual(expect.arrayContaining(['id', 'name', 'user', 'scopes', 'state', 'created', 'expires', 'lastUsed']));
    expect(list[1]!.lastUsed).toMatchObject({ protocol: 'imap', ip: '127.0.0.1' });
    expect(JSON.stringify(list)).not.toMatch(/password/);

    const log = await run(['log', 'alice@example.com']);
    expect(log.stdout).toMatch(/login failed .*revoked device "iPhone" still trying/);
    expect(log.stdout).toMatch(/login ok .*"Outlook"/);
    expect(log.stdout).toMatch(/device\.revoke .*"iPhone"/);
    // chronological, although login results reach the database in batches after the admin changes
    const lines = log.stdout.split('\n');
    const firstLogin = lines.findIndex((l) => /login ok .*"iPhone"/.test(l));
    const revoked = lines.findIndex((l) => /device\.revoke/.test(l));
    expect(firstLogin).toBeGreaterThan(-1);
    expect(firstLogin).toBeLessThan(revoked);
  });

  it('shows a new password once, with where to type it', async () => {
    await run(['address', 'add', 'human@example.com']);
    const added = await run(['device', 'add', 'human@example.com', '--name', 'iPad']);
    expect(added.code).toBe(0);
    const password = /^ {4}([a-z]{4}(?: [a-z]{4}){5})$/m.exec(added.stdout)?.[1];
    expect(password).toBeDefined();
    passwords.push(password!);
    expect(added.stdout).toContain('shown only this once');
    expect(added.stdout).toMatch(/incoming \(IMAP\/POP3\) and the outgoing \(SMTP\)/);
    expect(added.stdout).toMatch(/Apple Mail asks for both separately/);
    expect((await run(['auth', 'test', 'human@example.com'], password)).code).toBe(0);
  });

  it('resets a device: the old password is refused as reset-away, the new one works', async () => {
    await run(['address', 'add', 'reset@example.com']);
    const device = (await json(['device', 'add', 'reset@example.com', '--name', 'Thunderbird'])) as { id: string; password: string };
    const reset = (await json(['device', 'reset', 'reset@example.com', device.id])) as { id: string; name: string; password: string };
    passwords.push(device.password, reset.password);
    expect(reset).toMatchObject({ id: device.id, name: 'Thunderbird' });
    const old = await run(['auth', 'test', 'reset@example.com'], device.password);
    expect(old.code).toBe(1);
    expect(old.stdout).toContain('previous password of "Thunderbird"');
    expect((await run(['auth', 'test', 'reset@example.com'], reset.password)).code).toBe(0);
  });

  it('takes a chosen password from stdin, refusing short ones', async () => {
    await run(['address', 'add', 'chosen@example.com']);
    const weak = await run(['device', 'add', 'chosen@example.com', '--name', 'CRM', '--password-stdin'], 'too short\n');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/16 characters/);
    const chosen = 'a long chosen crm password';
    passwords.push(chosen);
    const ok = (await json(['device', 'add', 'chosen@example.com', '--name', 'CRM', '--scopes', 'smtp', '--password-stdin'], `${chosen}\n`)) as {
      password: string; scopes: string[];
    };
    expect(ok.scopes).toEqual(['smtp']);
    expect((await run(['auth', 'test', 'chosen@example.com', '--protocol', 'smtp'], chosen)).code).toBe(0);
    const imap = await run(['auth', 'test', 'chosen@example.com', '--protocol', 'imap'], chosen);
    expect(imap.code).toBe(1);
    expect(imap.stdout).toContain('not allowed for this protocol');
  });

  it('imports a Dovecot passwd-file and logs in with the generic passwords', async () => {
    const result = await run(['import', 'passwd-file', path.join(ROOT, 'test/fixtures/passwd-file.sample')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/imported \d+/);
    const bad = await run(['import', 'passwd-file', path.join(ROOT, 'test/fixtures/passwd-file.bad')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/line \d+/);
    const addresses = (await json(['address', 'list'])) as Array<{ address: string; generic: boolean }>;
    expect(addresses.filter((a) => a.generic).length).toBeGreaterThan(0);
  });

  it('revoke-all cuts every device but the generic unless asked', async () => {
    await run(['address', 'add', 'many@example.com']);
    const a = (await json(['device', 'add', 'many@example.com', '--name', 'A'])) as { password: string };
    const b = (await json(['device', 'add', 'many@example.com', '--name', 'B'])) as { password: string };
    passwords.push(a.password, b.password);
    expect((await run(['device', 'revoke-all', 'many@example.com'])).code).toBe(1); // no --yes
    expect((await run(['device', 'revoke-all', 'many@example.com', '--yes'])).code).toBe(0);
    for (const p of [a.password, b.password]) expect((await run(['auth', 'test', 'many@example.com'], p)).code).toBe(1);
  });

  it('refuses bad input with exit code 1 and usage errors with 2', async () => {
    expect((await run(['address', 'add', 'not-an-address'])).code).toBe(1);
    expect((await run(['device', 'add', 'nobody@example.com', '--name', 'x'])).code).toBe(1);
    const unknownDevice = await run(['device', 'revoke', 'alice@example.com', '999999']);
    expect(unknownDevice.code).toBe(1);
    expect(unknownDevice.stderr).toContain('see `devicepass device list ADDRESS`');
    expect((await run(['device', 'reset', 'alice@example.com', 'generic'])).code).toBe(1);
    expect((await run(['device', 'add', 'alice@example.com', '--name', 'x', '--scopes', 'ftp'])).code).toBe(1);
    expect((await run(['device', 'add', 'alice@example.com', '--name', 'x', '--expires', 'yesterday'])).code).toBe(1);
    expect((await run(['generic', 'import', 'alice@example.com', '{MD4}abc'])).code).toBe(1);
    expect((await run(['device', 'add', 'alice@example.com'])).code).toBe(2); // --name missing
    expect((await run(['no-such-command'])).code).toBe(2);
    expect((await run(['log', '--limit', 'many'])).code).toBe(2);
    const refusedJson = await run(['--json', 'address', 'add', 'nope']);
    expect(JSON.parse(refusedJson.stdout)).toMatchObject({ error: { code: 'ADDRESS_INVALID' } });
  });

  it('exits 3 when the daemon is unreachable', async () => {
    const result = await cli(['--socket', path.join(dir, 'nothing-here.sock'), 'status']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/not reachable/);
    expect(result.stderr).toMatch(/start it with `systemctl start devicepassd`/);
  });

  it('backup writes a consistent copy of the live database that opens on its own', async () => {
    expect((await run(['address', 'add', 'backup@example.com'])).code).toBe(0);
    const file = path.join(dir, 'copy.db');
    const result = (await json(['backup', file])) as { file: string; bytes: number };
    expect(result).toMatchObject({ file, bytes: statSync(file).size });
    const copy = new Database(file, { readonly: true, fileMustExist: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.prepare('SELECT count(*) AS n FROM address WHERE address = ?').get('backup@example.com')).toEqual({ n: 1 });
    } finally {
      copy.close();
    }
    // a second backup replaces the first; a folder that does not exist is a refusal naming the file, and leaves nothing behind
    expect((await run(['backup', file])).code).toBe(0);
    const refused = await run(['--json', 'backup', path.join(dir, 'no-such-folder', 'copy.db')]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'BACKUP_FAILED', message: expect.stringMatching(/no-such-folder\/copy\.db: .*directory does not exist/) } });
    expect(readdirSync(dir).filter((name) => name.includes('.partial-'))).toEqual([]);
  });

  it('status answers with the schema version and counters', async () => {
    const status = (await json(['status'])) as Record<string, unknown>;
    expect(status).toMatchObject({ schemaVersion: MIGRATIONS.length, pid: daemon.child.pid, ready: true });
  });
});

describe('devicepass status --wait, the service readiness check', () => {
  it('waits for a daemon that is still starting, answers once it serves, and exits 3 when none comes', async () => {
    const { dir, cleanup } = tempDir();
    const config = writeConfig(dir);
    const socket = path.join(dir, 'control.sock');
    try {
      const absent = await cli(['--socket', socket, 'status', '--wait', '0.3']);
      expect(absent.code).toBe(3);
      // started together, as systemd runs ExecStart and then ExecStartPost
      const waiting = cli(['--config', config, '--json', 'status', '--wait', '20']);
      const daemon = await startDaemonProcess(config, socket);
      try {
        const ready = await waiting;
        expect(ready.code).toBe(0);
        expect(JSON.parse(ready.stdout)).toMatchObject({ ready: true, pid: daemon.child.pid });
      } finally {
        await daemon.stop();
      }
      expect((await cli(['--socket', socket, 'status', '--wait', 'soon'])).code).toBe(2);
    } finally {
      cleanup();
    }
  });
});

describe('the database file', () => {
  it('is created owner-only, with its WAL', async () => {
    const { dir, cleanup } = tempDir();
    const config = writeConfig(dir);
    const daemon = await startDaemonProcess(config, path.join(dir, 'control.sock'));
    try {
      await cli(['--config', config, 'address', 'add', 'x@example.com']);
      for (const file of ['devicepass.db', 'devicepass.db-wal']) expect(statSync(path.join(dir, file)).mode & 0o777).toBe(0o600);
    } finally {
      await daemon.stop();
      cleanup();
    }
  });
});
