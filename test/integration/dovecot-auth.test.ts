import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { SaslClient } from '../../src/dovecot-auth/client.js';
import { createLogger } from '../../src/log/logger.js';
import { addAddressWithDevice, startTestDaemon } from '../helpers/daemon-env.js';
import { tempDir, testConfig } from '../helpers/env.js';

const ALICE = 'alice@example.com';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const plain = (user: string, pass: string) => b64(`\0${user}\0${pass}`);

/** A raw protocol peer: writes lines, collects the server's lines. */
function rawPeer(address: string) {
  const tcp = /^([\d.]+):(\d+)$/.exec(address);
  const socket = tcp ? net.connect(Number(tcp[2]), tcp[1]) : net.connect(address);
  let text = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => undefined);
  const gone = new Promise<void>((resolve) => socket.on('close', () => resolve((closed = true) && undefined)));
  const lines = () => text.split('\n').filter(Boolean);
  return {
    socket,
    lines,
    write: (t: string) => socket.write(t),
    isClosed: () => closed,
    gone,
    async waitFor(pred: (l: string[]) => boolean, ms = 5000) {
      const deadline = Date.now() + ms;
      while (!pred(lines())) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(lines())}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return lines();
    },
  };
}

describe('Dovecot SASL service', () => {
  let daemon: Daemon;
  let stop: () => Promise<void>;
  let unixPath: string;
  let tcp: string;
  let password: string;

  beforeAll(async () => {
    ({ daemon, stop } = await startTestDaemon({
      dovecot_auth: { listen: ['auth.sock', '127.0.0.1:0'], mode: '0666' },
      // nothing here is a trusted listener, so the wrong guesses below are throttled like any client's:
      // short delays keep the suite quick (their effect is tested in dovecot-auth-trust.test.ts)
      auth: { failure_delay: '10ms', failure_delay_max: '10ms' },
    }));
    const surface = daemon.surfaces.find((s) => s.name === 'dovecot_auth')!;
    [unixPath, tcp] = surface.addresses() as [string, string];
    password = await addAddressWithDevice(daemon, ALICE, { name: 'mailer', scopes: 'smtp' });
  });
  afterAll(() => stop());

  it('listens on the Unix socket with the configured mode and on TCP', () => {
    expect(unixPath).toBe(path.join(path.dirname(unixPath), 'auth.sock'));
    expect(statSync(unixPath).mode & 0o777).toBe(0o666);
    expect(tcp).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('sends the handshake at once, before the client says anything (Exim waits for it)', async () => {
    const peer = rawPeer(unixPath);
    const lines = await peer.waitFor((l) => l.includes('DONE'));
    expect(lines[0]).toBe('VERSION\t1\t2');
    expect(lines).toContain('MECH\tPLAIN\tplaintext');
    expect(lines).toContain('MECH\tLOGIN\tplaintext');
    expect(lines.some((l) => /^SPID\t\d+$/.test(l))).toBe(true);
    expect(lines.some((l) => /^COOKIE\t[0-9a-f]{32}$/.test(l))).toBe(true);
    peer.socket.destroy();
  });

  it('authenticates PLAIN (client speaks first, like Postfix) and refuses a wrong password, scope and service', async () => {
    const peer = rawPeer(tcp);
    peer.write(
      'VERSION\t1\t0\nCPID\t4242\n' +
        `AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1\tsecured\tresp=${plain(ALICE, password)}\n` +
        `AUTH\t2\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp=${plain(ALICE, 'wrong wrong wrong')}\n` +
        `AUTH\t3\tPLAIN\tservice=imap\trip=127.0.0.1\tresp=${plain(ALICE, password)}\n` +
        `AUTH\t4\tPLAIN\tservice=ftp\trip=127.0.0.1\tresp=${plain(ALICE, password)}\n`,
    );
    const lines = await peer.waitFor((l) => l.filter((x) => /^(OK|FAIL)\t/.test(x)).length === 4);
    const verdicts = Object.fromEntries(lines.filter((x) => /^(OK|FAIL)\t/.test(x)).map((x) => [x.split('\t')[1], x]));
    expect(verdicts['1']).toBe(`OK\t1\tuser=${ALICE}`);
    expect(verdicts['2']).toBe(`FAIL\t2\tuser=${ALICE}\treason=Authentication failed`);
    expect(verdicts['3']).toMatch(/^FAIL\t3\t/);
    expect(verdicts['4']).toMatch(/^FAIL\t4\t/);
    expect(lines.join('\n')).not.toContain(password);
    peer.socket.destroy();
  });

  it('runs a LOGIN exchange', async () => {
    const peer = rawPeer(unixPath);
    peer.write('VERSION\t1\t2\nAUTH\t9\tLOGIN\tservice=smtp\trip=127.0.0.1\n');
    await peer.waitFor((l) => l.includes(`CONT\t9\t${b64('Username:')}`));
    peer.write(`CONT\t9\t${b64(ALICE)}\n`);
    await peer.waitFor((l) => l.includes(`CONT\t9\t${b64('Password:')}`));
    peer.write(`CONT\t9\t${b64(password)}\n`);
    await peer.waitFor((l) => l.includes(`OK\t9\tuser=${ALICE}`));
    peer.socket.destroy();
  });

  it('answers many requests in flight on one connection', async () => {
    const client = await SaslClient.connect(unixPath);
    const verdicts = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.plain({ user: ALICE, password: i % 2 ? password : `nope-${i}-xxxxxxxxxxxx`, service: 'smtp', rip: '127.0.0.1' })),
    );
    expect(verdicts.filter((v) => v.ok)).toHaveLength(100);
    const failures = verdicts.filter((v) => !v.ok);
    expect(failures).toHaveLength(100);
    // 100 cold wrong passwords from one IP overflow its share of the hash queue: those answer temp_fail
    for (const f of failures) expect(f.reason).toBe(f.temporary ? 'Temporary authentication failure' : 'Authentication failed');
    expect(failures.some((f) => f.temporary)).toBe(true);
    client.close();
  });

  it('closes the connection on an oversized line and on garbage, and keeps serving others', async () => {
    const long = rawPeer(unixPath);
    long.write(`VERSION\t1\t2\nAUTH\t1\tPLAIN\tservice=smtp\tresp=${'A'.repeat(20_000)}`);
    await long.gone;
    const garbage = rawPeer(tcp);
    garbage.write('\x00\xff\xfe nonsense\n');
    await garbage.gone;
    const early = rawPeer(tcp);
    early.write(`AUTH\t1\tPLAIN\tservice=smtp\tresp=${plain(ALICE, password)}\n`);
    await early.gone;
    expect(early.lines().some((l) => l.startsWith('OK'))).toBe(false);

    const client = await SaslClient.connect(tcp);
    expect(await client.plain({ user: ALICE, password, service: 'smtp', rip: '127.0.0.1' })).toMatchObject({ ok: true, user: ALICE });
    client.close();
  });

  it('survives a client that disconnects while its request is being decided', async () => {
    for (let i = 0; i < 20; i++) {
      const peer = rawPeer(unixPath);
      peer.write(`VERSION\t1\t2\nAUTH\t1\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp=${plain(ALICE, `cold-${i}-password-xx`)}\n`);
      setTimeout(() => peer.socket.destroy(), i);
    }
    await new Promise((r) => setTimeout(r, 300));
    const client = await SaslClient.connect(unixPath);
    expect((await client.plain({ user: ALICE, password, service: 'smtp', rip: '127.0.0.1' })).ok).toBe(true);
    client.close();
  });

  it('refuses a revoked device on the very next attempt', async () => {
    // an address and a client network of its own: the wrong guesses of the tests above have locked ALICE
    // out of fresh attempts and spent 127.0.0.1's hash budget (a revocation makes the next attempt a fresh one)
    const BOB = 'bob@example.com';
    await daemon.admin.addAddress(BOB, 'test');
    const device = await daemon.admin.addDevice(BOB, { name: 'short-lived', scopes: 'smtp' }, 'test');
    const client = await SaslClient.connect(unixPath);
    const attempt = () => client.plain({ user: BOB, password: device.password, service: 'smtp', rip: '198.51.100.77' });
    expect((await attempt()).ok).toBe(true);
    expect((await attempt()).ok).toBe(true); // now from the proof cache
    await daemon.admin.revokeDevice(BOB, device.id, 'test');
    expect(await attempt()).toMatchObject({ ok: false, temporary: false });
    client.close();
  });
});

describe('Dovecot SASL service logs', () => {
  it('never writes a password, whatever the client sends', async () => {
    const tmp = tempDir();
    let logs = '';
    const log = createLogger('debug', { write: (line: string) => void (logs += line) });
    const daemon = await startDaemon(
      testConfig(tmp.dir, { imap: { listen: [], listen_tls: [] }, smtp: { listen: [], listen_tls: [] }, http: { listen: [] }, dovecot_auth: { listen: ['auth.sock'], mode: '0666' } }),
      log,
    );
    try {
      const socket = path.join(tmp.dir, 'auth.sock');
      await daemon.admin.addAddress(ALICE, 'test');
      const { password } = await daemon.admin.addDevice(ALICE, { name: 'x' }, 'test');
      const secret = 'SECRETPASSWORD';
      const client = await SaslClient.connect(socket);
      await client.plain({ user: ALICE, password: secret, service: 'smtp', rip: '127.0.0.1' });
      await client.plain({ user: ALICE, password, service: 'smtp', rip: '127.0.0.1' });
      client.close();
      for (const line of [secret, `AUTH\t${secret}\tPLAIN\tservice=smtp`, `VERSION\t1\t2\nAUTH\t1\tPLAIN\tservice=smtp\tresp=${'QUJD'.repeat(5000)}`]) {
        const peer = rawPeer(socket);
        peer.write(`${line}\n`);
        await peer.gone;
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(logs).toContain('protocol error');
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(password);
    } finally {
      await daemon.stop();
      tmp.cleanup();
    }
  });
});
