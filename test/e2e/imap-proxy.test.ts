import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { tempDir, testConfig } from '../helpers/env.js';
import { dovecotInstalled, startDovecot, type DovecotInstance } from './helpers/dovecot.js';
import { serversReady } from './helpers/require-servers.js';

const run = promisify(execFile);
const ALICE = 'alice@example.com';
const canRun = serversReady(dovecotInstalled() && process.getuid?.() === 0, 'Dovecot (as root)');

/**
 * The whole path: an IMAP client logs in to devicepass with a device password,
 * devicepass logs in to a real Dovecot as the address through the master user
 * and pipes the session; revoking the device cuts exactly that device's sessions.
 */
describe.skipIf(!canRun)('IMAP through devicepass to a real Dovecot', () => {
  let dovecot: DovecotInstance;
  let daemon: Daemon;
  let cleanup: () => void;
  let plainPort: number;
  let tlsPort: number;
  const devices: Record<string, { id: string; password: string }> = {};

  const client = (device: string, options: Partial<ImapFlowOptions> & { method?: string } = {}) =>
    new ImapFlow({
      host: '127.0.0.1',
      port: plainPort,
      secure: false,
      logger: false,
      // devicepass's own self-signed certificate for localhost
      tls: { rejectUnauthorized: false },
      ...options,
      auth: { user: ALICE, pass: devices[device]!.password, ...(options.method ? { loginMethod: options.method } : {}) },
    });

  beforeAll(async () => {
    dovecot = await startDovecot();
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    daemon = await startDaemon(
      testConfig(tmp.dir, {
        imap: {
          listen: ['127.0.0.1:0'],
          listen_tls: ['127.0.0.1:0'],
          upstream: { host: dovecot.host, port: dovecot.port, tls: 'none', master_user: dovecot.masterUser, master_password: dovecot.masterPassword },
        },
        smtp: { listen: [], listen_tls: [] },
        http: { listen: [] },
        dovecot_auth: { listen: [] },
      }),
    );
    await daemon.admin.addAddress(ALICE, 'e2e');
    for (const name of ['phone', 'laptop']) {
      const made = await daemon.admin.addDevice(ALICE, { name }, 'e2e');
      devices[name] = { id: String(made.id), password: made.password };
    }
    const imap = daemon.surfaces.find((s) => s.name === 'imap')!;
    [plainPort, tlsPort] = imap.addresses().map((a) => Number(a.slice(a.lastIndexOf(':') + 1))) as [number, number];
  });

  afterAll(async () => {
    await daemon?.stop();
    await dovecot?.stop();
    cleanup?.();
  });

  it('logs in with a device password, then SELECT, APPEND and FETCH reach Dovecot as the address', async () => {
    const phone = client('phone');
    await phone.connect();
    try {
      const box = await phone.mailboxOpen('INBOX');
      expect(box.path).toBe('INBOX');
      const message = `From: bob@example.com\r\nTo: ${ALICE}\r\nSubject: through devicepass\r\nMessage-ID: <e2e-1@example.com>\r\n\r\nHello through the proxy.\r\n`;
      const appended = await phone.append('INBOX', message);
      expect(appended).toMatchObject({ destination: 'INBOX', uid: expect.any(Number) });
      const fetched = await phone.fetchOne('*', { source: true, envelope: true });
      expect(fetched && fetched.envelope?.subject).toBe('through devicepass');
      expect(fetched && fetched.source?.toString()).toContain('Hello through the proxy.');
    } finally {
      await phone.logout();
    }
    // Dovecot stored it in alice's own Maildir and logged the login as hers, from the real client address
    const maildir = dovecot.maildir(ALICE);
    const files = ['new', 'cur'].map((d) => path.join(maildir, d)).filter(existsSync).flatMap((d) => readdirSync(d));
    expect(files.length).toBeGreaterThanOrEqual(1);
    await dovecot.waitForLog(/Login: user=<alice@example\.com>, method=PLAIN, rip=127\.0\.0\.1/);
  });

  it('works with LOGIN instead of AUTHENTICATE, and over implicit TLS', async () => {
    const viaLogin = client('laptop', { method: 'LOGIN' });
    await viaLogin.connect();
    expect((await viaLogin.status('INBOX', { messages: true }) as { messages?: number }).messages).toBeGreaterThanOrEqual(1);
    await viaLogin.logout();
    const viaTls = client('laptop', { port: tlsPort, secure: true });
    await viaTls.connect();
    await viaTls.mailboxOpen('INBOX');
    await viaTls.logout();
  });

  it('serves curl imap:// (an independent client)', async () => {
    const { stdout } = await run('curl', ['-s', '--max-time', '10', '--user', `${ALICE}:${devices.laptop!.password}`, `imap://127.0.0.1:${plainPort}/INBOX;UID=1`]);
    expect(stdout).toContain('Subject: through devicepass');
  });

  it('revoking a device closes its session in IDLE within a fraction of a second; the other device carries on', async () => {
    const phone = client('phone');
    const laptop = client('laptop');
    await phone.connect();
    await laptop.connect();
    try {
      await phone.mailboxOpen('INBOX');
      await laptop.mailboxOpen('INBOX');
      const idling = phone.idle().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      expect(daemon.registry.list(ALICE).length).toBe(2);
      const closed = new Promise<number>((resolve) => phone.once('close', () => resolve(Date.now())));
      const revokedAt = Date.now();
      const revoked = await daemon.admin.revokeDevice(ALICE, devices.phone!.id, 'e2e');
      expect(revoked.sessionsClosed).toBe(1);
      const closedAt = await closed;
      expect(closedAt - revokedAt).toBeLessThan(500);
      await idling;
      // the other device is untouched and still talks to Dovecot
      await laptop.noop();
      expect((await laptop.status('INBOX', { messages: true }) as { messages?: number }).messages).toBeGreaterThanOrEqual(1);
      expect(daemon.registry.list(ALICE).length).toBe(1);
      // devicepass also closed its upstream side: Dovecot is left with the laptop's session only
      await waitFor(async () => (await dovecot.doveadm(['who', '-1'])).split('\n').filter((l) => l.startsWith(ALICE)).length === 1);
      // and the revoked password no longer logs in
      const again = client('phone');
      await expect(again.connect()).rejects.toThrow();
      again.close();
    } finally {
      phone.close();
      await laptop.logout();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
