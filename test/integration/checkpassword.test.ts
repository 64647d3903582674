import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { ROOT, tempDir, testConfig } from '../helpers/env.js';

const ALICE = 'alice@example.com';
const BIN = path.join(ROOT, 'bin', 'devicepass-checkpassword.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real program with `input` on fd 3, as Dovecot does. */
function checkpassword(args: string[], input: string | Buffer, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    const fd3 = child.stdio[3] as NodeJS.WritableStream;
    fd3.on('error', () => undefined);
    fd3.end(input);
  });
}

describe('devicepass-checkpassword', () => {
  let daemon: Daemon;
  let dir: string;
  let cleanup: () => void;
  let socket: string;
  let password: string;

  beforeAll(async () => {
    const tmp = tempDir();
    dir = tmp.dir;
    cleanup = tmp.cleanup;
    daemon = await startDaemon(
      testConfig(dir, { imap: { listen: [], listen_tls: [] }, smtp: { listen: [], listen_tls: [] }, http: { listen: [] }, dovecot_auth: { listen: ['auth.sock'], mode: '0666' } }),
    );
    socket = path.join(dir, 'auth.sock');
    await daemon.admin.addAddress(ALICE, 'test');
    password = (await daemon.admin.addDevice(ALICE, { name: 'laptop', scopes: 'imap' }, 'test')).password;
  });
  afterAll(async () => {
    await daemon.stop();
    cleanup();
  });

  it('exits 0 and runs the program with USER set on success', async () => {
    const run = await checkpassword(['--socket', socket, '/bin/sh', '-c', 'echo "user=$USER authorized=$AUTHORIZED"'], `Alice@Example.com\0${password}\0`, {
      SERVICE: 'imap',
      TCPREMOTEIP: '127.0.0.1',
    });
    expect(run).toMatchObject({ code: 0, stdout: `user=${ALICE} authorized=\n` });
  });

  it('passes the program exit code on, and sets AUTHORIZED=2 when Dovecot asked with AUTHORIZED=1', async () => {
    const run = await checkpassword(['--socket', socket, '/bin/sh', '-c', 'echo $AUTHORIZED; exit 7'], `${ALICE}\0${password}\0`, { AUTHORIZED: '1', DEVICEPASS_AUTH_SOCKET: socket });
    expect(run).toMatchObject({ code: 7, stdout: '2\n' });
  });

  it('finds the socket through $DEVICEPASS_AUTH_SOCKET and through the config file', async () => {
    expect((await checkpassword([], `${ALICE}\0${password}\0`, { DEVICEPASS_AUTH_SOCKET: socket })).code).toBe(0);
    const config = path.join(dir, 'cp.toml');
    writeFileSync(config, `data_dir = ${JSON.stringify(dir)}\n[dovecot_auth]\nlisten = ["auth.sock"]\n`);
    expect((await checkpassword(['--config', config], `${ALICE}\0${password}\0`)).code).toBe(0);
    expect((await checkpassword([], `${ALICE}\0${password}\0`, { DEVICEPASS_CONFIG: config })).code).toBe(0);
  });

  it('exits 1 on a wrong password, a wrong scope and an empty password, without running the program', async () => {
    const marker = ['/bin/sh', '-c', 'echo ran'];
    const wrong = await checkpassword(['--socket', socket, ...marker], `${ALICE}\0not the password\0`, { TCPREMOTEIP: '127.0.0.1' });
    expect(wrong).toMatchObject({ code: 1, stdout: '' });
    expect((await checkpassword(['--socket', socket, ...marker], `${ALICE}\0${password}\0`, { SERVICE: 'smtp', TCPREMOTEIP: '127.0.0.1' })).code).toBe(1);
    expect((await checkpassword(['--socket', socket, ...marker], `${ALICE}\0\0`)).code).toBe(1);
    expect(wrong.stderr).not.toContain('not the password');
  });

  it('exits 1 at once after the device is revoked', async () => {
    const device = await daemon.admin.addDevice(ALICE, { name: 'tablet', scopes: 'imap' }, 'test');
    expect((await checkpassword(['--socket', socket], `${ALICE}\0${device.password}\0`)).code).toBe(0);
    await daemon.admin.revokeDevice(ALICE, device.id, 'test');
    expect((await checkpassword(['--socket', socket], `${ALICE}\0${device.password}\0`)).code).toBe(1);
  });

  it('exits 111 when the daemon is unreachable', async () => {
    const run = await checkpassword(['--socket', path.join(dir, 'nobody.sock')], `${ALICE}\0${password}\0`);
    expect(run.code).toBe(111);
    expect(run.stderr).toContain('unreachable');
    expect(run.stderr).not.toContain(password);
  });

  it('exits 111 when the daemon answers a temporary failure', async () => {
    // a stand-in auth server that answers every AUTH with code=temp_fail, as devicepassd does when its hash queue is full
    const fake = net.createServer((socket) => {
      socket.write('VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nSPID\t1\nCUID\t1\nCOOKIE\t00\nDONE\n');
      socket.on('data', (d: Buffer) => {
        const id = /AUTH\t(\d+)/.exec(d.toString())?.[1];
        if (id) socket.write(`FAIL\t${id}\tcode=temp_fail\treason=busy\n`);
      });
      socket.on('error', () => undefined);
    });
    const fakePath = path.join(dir, 'fake.sock');
    await new Promise<void>((resolve) => fake.listen(fakePath, resolve));
    try {
      expect((await checkpassword(['--socket', fakePath, '/bin/true'], `${ALICE}\0${password}\0`)).code).toBe(111);
    } finally {
      await new Promise((r) => fake.close(r));
    }
  });

  it('exits 2 on malformed or oversized fd 3 input', async () => {
    expect((await checkpassword(['--socket', socket], 'no nul here')).code).toBe(2);
    expect((await checkpassword(['--socket', socket], Buffer.alloc(600, 0x61))).code).toBe(2);
  });
});
