import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { printableConfig } from '../../src/config/check.js';
import { buildConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { RawImap } from '../helpers/imap-raw-client.js';
import { startImapEnv, type ImapEnv } from '../helpers/imap-env.js';
import { cli, startDaemonProcess, tempDir, testConfig, writeConfig } from '../helpers/env.js';
import { b64, FakeMta, SmtpTalk } from '../unit/smtp/helpers.js';

const ADDRESS = 'alice@example.com';

async function certificate(dir: string, name: string): Promise<{ cert: string; key: string; fingerprint: string }> {
  const made = await generate([{ name: 'commonName', value: name }], { keyType: 'ec', curve: 'P-256' });
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  writeFileSync(cert, made.cert);
  writeFileSync(key, made.private);
  return { cert, key, fingerprint: new X509Certificate(made.cert).fingerprint256 };
}

/** The certificate a new TLS client is shown on `port`. */
async function presented(port: number): Promise<string> {
  const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  await once(socket, 'secureConnect');
  const fingerprint = socket.getPeerX509Certificate()!.fingerprint256;
  socket.destroy();
  return fingerprint;
}

describe('reload: a renewed certificate reaches new handshakes while open sessions stay', () => {
  let env: ImapEnv | undefined;
  const tmp = tempDir('dp-reload');
  afterEach(async () => {
    await env?.stop();
    env = undefined;
  });

  it('renew the files in place, reload: a new TLS client sees the new certificate, an IDLE session opened before stays up', async () => {
    const first = await certificate(tmp.dir, 'first.example.com');
    env = await startImapEnv({ tls: { cert: first.cert, key: first.key } });
    expect(await presented(env.tlsPort)).toBe(first.fingerprint);

    const idle = await RawImap.connect(env.tlsPort, { tls: true });
    await idle.next(/^\* OK/);
    expect((await idle.command('l', `LOGIN ${ADDRESS} "${env.devices.phone!.password}"`)).at(-1)).toMatch(/^l OK/);
    idle.send('i1 IDLE\r\n');
    await idle.next(/^\+ idling/);

    const renewed = await certificate(tmp.dir, 'renewed.example.com');
    const plan = await env.daemon.reload(env.daemon.config);
    expect(plan.needRestart).toEqual([]);
    expect(await presented(env.tlsPort)).toBe(renewed.fingerprint);

    // the session opened before the reload is still proxied
    idle.send('DONE\r\n');
    await idle.next(/^i1 OK/);
    expect(await idle.command('n1', 'NOOP')).toEqual(['n1 OK NOOP completed']);
    expect(idle.isClosed).toBe(false);
    idle.destroy();
  });

  it('applies what may change now, names what needs a restart and keeps its old value, and refuses an unusable certificate', async () => {
    const first = await certificate(tmp.dir, 'first.example.com');
    env = await startImapEnv({ tls: { cert: first.cert, key: first.key }, auth: { trusted_networks: ['127.0.0.0/8'] } });
    const before = env.daemon.config;
    // the running configuration as it could be written back, with some keys changed
    const raw = printableConfig(before) as Record<string, Record<string, unknown>>;
    raw.auth = { ...raw.auth, trusted_networks: ['192.0.2.0/24'], failure_delay: '1s' };
    raw.imap = { ...raw.imap, listen: ['127.0.0.1:0', '127.0.0.1:0'], idle_timeout: '45s' };
    const plan = await env.daemon.reload(buildConfig(raw));
    expect(plan.applied).toEqual(expect.arrayContaining(['auth.trusted_networks', 'auth.failure_delay', 'imap.idle_timeout']));
    expect(plan.needRestart).toEqual(['imap.listen']);
    expect(env.daemon.config.imap.listen).toEqual(before.imap.listen);
    expect(env.daemon.config.imap.idle_timeout).toBe(45_000);
    // 127.0.0.1 is no longer trusted: the plaintext listener now refuses LOGIN before STARTTLS
    const plain = await RawImap.connect(env.plainPort);
    expect(await plain.next(/^\* OK/)).toMatch(/LOGINDISABLED/);
    plain.destroy();

    // a key that does not belong to the certificate: refused, the running certificate stays
    const other = await generate([{ name: 'commonName', value: 'other.example.com' }], { keyType: 'ec', curve: 'P-256' });
    writeFileSync(first.key, other.private);
    await expect(env.daemon.reload(env.daemon.config)).rejects.toThrow();
    expect(await presented(env.tlsPort)).toBe(first.fingerprint);
    expect(env.daemon.config.auth.trusted_networks).toEqual(['192.0.2.0/24']);
  });
});

describe('stop: messages in flight finish, then sessions end', () => {
  let daemon: Daemon | undefined;
  let mta: FakeMta | undefined;
  const tmp = tempDir('dp-drain');
  afterEach(async () => {
    await daemon?.stop();
    await mta?.stop();
  });

  it('a message between DATA and the upstream verdict gets its 250; new connections are refused meanwhile; then 421', async () => {
    mta = new FakeMta();
    mta.holdDataMs = 600;
    const mtaPort = await mta.start();
    daemon = await startDaemon(testConfig(tmp.dir, {
      smtp: { listen: ['127.0.0.1:0'], listen_tls: [], upstream: { host: '127.0.0.1', port: mtaPort, xclient: true } },
      dovecot_auth: { listen: [] },
    }));
    await daemon.admin.addAddress(ADDRESS, 'test');
    const device = await daemon.admin.addDevice(ADDRESS, { name: 'phone', scopes: 'smtp' }, 'test');
    const smtp = daemon.surfaces.find((s) => s.name === 'smtp')!;
    const port = Number(smtp.addresses()[0]!.split(':').pop());

    const talk = await SmtpTalk.connect(port);
    await talk.read();
    await talk.cmd('EHLO laptop');
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ADDRESS}\0${device.password}`)}`)).toMatch(/^235 /);
    expect(await talk.cmd(`MAIL FROM:<${ADDRESS}>`)).toMatch(/^250/);
    expect(await talk.cmd('RCPT TO:<friend@example.net>')).toMatch(/^250/);
    expect(await talk.cmd('DATA')).toMatch(/^354/);
    talk.write('Subject: in flight\r\n\r\nstill going\r\n.\r\n');
    const deadline = Date.now() + 3000;
    while ((smtp.busy?.() ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(smtp.busy?.()).toBe(1);

    const stopped = daemon.stop(10_000);
    await new Promise((r) => setTimeout(r, 50));
    const refused = await new Promise<string>((resolve) => {
      const probe = net.connect(port, '127.0.0.1');
      probe.once('connect', () => resolve('connected'));
      probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(await talk.read()).toMatch(/^250 .*queued as FAKE1/);
    expect(await talk.read()).toMatch(/^421 /);
    await talk.closed;
    await stopped;
    daemon = undefined;
    expect(mta.received.map((m) => m.data)).toEqual([expect.stringContaining('still going')]);
  });
});

describe('devicepassd signals', () => {
  it('SIGHUP reloads (a broken file is refused and the daemon goes on), SIGTERM stops with exit 0', async () => {
    const { dir, cleanup } = tempDir('dp-sig');
    try {
      const file = writeConfig(dir);
      const daemon = await startDaemonProcess(file, path.join(dir, 'control.sock'));
      const waitLog = async (pattern: RegExp) => {
        const deadline = Date.now() + 5000;
        while (!pattern.test(daemon.logs())) {
          if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${daemon.logs()}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const good = readFileSync(file, 'utf8');
      writeFileSync(file, `${good}\n[auth]\ntrusted_networks = ["not a network"]\n`);
      daemon.child.kill('SIGHUP');
      await waitLog(/reload refused: the configuration does not load/);
      expect(daemon.child.exitCode).toBeNull();

      writeFileSync(file, `${good}\n[auth]\nfailure_delay = "1s"\n`);
      daemon.child.kill('SIGHUP');
      await waitLog(/"changed":\["auth.failure_delay"\].*configuration reloaded|configuration reloaded.*auth.failure_delay/);
      expect((await cli(['--config', file, 'status'])).code).toBe(0);

      const exited = once(daemon.child, 'exit');
      daemon.child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
      expect(daemon.logs()).toMatch(/devicepassd stopped/);
    } finally {
      cleanup();
    }
  });
});
