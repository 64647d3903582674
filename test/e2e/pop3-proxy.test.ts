import { execFile } from 'node:child_process';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import Pop3Command from 'node-pop3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log/logger.js';
import { greetPop3Upstream, openPop3Upstream } from '../../src/pop3/upstream.js';
import { tempDir, testConfig } from '../helpers/env.js';
import { RawImap as RawLines } from '../helpers/imap-raw-client.js';
import { dovecotPop3Installed, startDovecot, type DovecotInstance } from './helpers/dovecot.js';
import { serversReady } from './helpers/require-servers.js';

const run = promisify(execFile);
const ALICE = 'alice@example.com';
/** The loopback address devicepass trusts to send PROXY headers, and the client address such a header claims. */
const PROXY_PEER = '127.0.0.2';
const CLIENT_IP = '192.0.2.7';

/** A multi-line answer's lines up to the terminating "." (dot-stuffing left as sent). */
async function multiline(c: RawLines): Promise<string[]> {
  const lines: string[] = [];
  for (let line = await c.next(() => true); line !== '.'; line = await c.next(() => true)) lines.push(line);
  return lines;
}

const canRun = serversReady(dovecotPop3Installed() && process.getuid?.() === 0, 'Dovecot with POP3 (as root)');

/**
 * The whole POP3 path: a message put into the mailbox over IMAP (through
 * devicepass too), then a POP3 client logs in to devicepass with a device
 * password, devicepass logs in to Dovecot's POP3 as the address through the
 * master user (with XCLIENT: loopback is in login_trusted_networks) and
 * relays; revoking the device cuts exactly that device's session. One client
 * comes through a trusted proxy's PROXY header, so its address is one that
 * only XCLIENT can have told Dovecot.
 */
describe.skipIf(!canRun)('POP3 through devicepass to a real Dovecot', () => {
  let dovecot: DovecotInstance;
  let daemon: Daemon;
  let cleanup: () => void;
  let pop3Plain: number;
  let pop3Tls: number;
  let imapPlain: number;
  const devices: Record<string, { id: string; password: string }> = {};
  const MESSAGE = `From: bob@example.com\r\nTo: ${ALICE}\r\nSubject: fetched over pop3\r\nMessage-ID: <pop3-e2e-1@example.com>\r\n\r\nHello through the POP3 proxy.\r\n`;

  const pop3 = (device: string) =>
    new Pop3Command({ host: '127.0.0.1', port: pop3Tls, tls: true, user: ALICE, password: devices[device]!.password, tlsOptions: { rejectUnauthorized: false }, servername: 'localhost' });

  beforeAll(async () => {
    dovecot = await startDovecot({ pop3: true });
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const upstream = { host: dovecot.host, tls: 'none', master_user: dovecot.masterUser, master_password: dovecot.masterPassword };
    daemon = await startDaemon(
      testConfig(tmp.dir, {
        imap: { listen: ['127.0.0.1:0'], listen_tls: [], upstream: { ...upstream, port: dovecot.port } },
        // a "load balancer" on 127.0.0.2 tells devicepass who its clients are, in a PROXY header
        pop3: { listen: ['127.0.0.1:0'], listen_tls: ['127.0.0.1:0'], trusted_proxies: [`${PROXY_PEER}/32`], upstream: { ...upstream, port: dovecot.pop3Port } },
        dovecot_auth: { listen: [] },
      }),
    );
    await daemon.admin.addAddress(ALICE, 'e2e');
    for (const name of ['phone', 'laptop']) {
      const made = await daemon.admin.addDevice(ALICE, { name, scopes: ['imap', 'pop3'] }, 'e2e');
      devices[name] = { id: String(made.id), password: made.password };
    }
    const port = (front: string) => daemon.surfaces.find((s) => s.name === front)!.addresses().map((a) => Number(a.slice(a.lastIndexOf(':') + 1)));
    [pop3Plain, pop3Tls] = port('pop3') as [number, number];
    [imapPlain] = port('imap') as [number];
    const imap = new ImapFlow({ host: '127.0.0.1', port: imapPlain, secure: false, logger: false, tls: { rejectUnauthorized: false }, auth: { user: ALICE, pass: devices.laptop!.password } });
    await imap.connect();
    await imap.append('INBOX', MESSAGE);
    await imap.logout();
  });

  afterAll(async () => {
    await daemon?.stop();
    await dovecot?.stop();
    cleanup?.();
  });

  it('LIST and RETR through devicepass return the message put there over IMAP; Dovecot logs the login as the address from the real client', async () => {
    // the client's address is one neither devicepass nor Dovecot has: only XCLIENT can carry it to Dovecot's log
    // (192.0.2.7 is only claimed inside the PROXY header; nothing is ever sent there)
    const client = await RawLines.connect(pop3Tls, { tls: true, localAddress: PROXY_PEER, preamble: `PROXY TCP4 ${CLIENT_IP} 127.0.0.1 40777 995\r\n` });
    expect(await client.next(/^[+-]/)).toBe('+OK devicepass ready.');
    client.send(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${devices.phone!.password}`).toString('base64')}\r\n`);
    expect(await client.next(/^[+-]/)).toBe('+OK Logged in.');
    client.send('LIST\r\n');
    expect(await client.next(/^[+-]/)).toMatch(/^\+OK/);
    expect(await multiline(client)).toEqual([expect.stringMatching(/^1 \d+$/)]);
    client.send('RETR 1\r\n');
    expect(await client.next(/^[+-]/)).toMatch(/^\+OK/);
    expect((await multiline(client)).join('\n')).toContain('Hello through the POP3 proxy.');
    client.send('QUIT\r\n');
    expect(await client.next(/^[+-]/)).toMatch(/^\+OK/);
    await client.waitClosed();
    await dovecot.waitForLog(/pop3-login: Info: Login: user=<alice@example\.com>, method=PLAIN, rip=192\.0\.2\.7, lip=127\.0\.0\.1/);
  });

  it('curl pop3:// with AUTH PLAIN retrieves the message', async () => {
    const { stdout } = await run('curl', ['-s', '-S', '--max-time', '10', '--login-options', 'AUTH=PLAIN', '-u', `${ALICE}:${devices.laptop!.password}`, `pop3://127.0.0.1:${pop3Plain}/1`]);
    expect(stdout.replace(/\r\n/g, '\n')).toContain('Subject: fetched over pop3');
  });

  it('revoking a device closes its POP3 session with [SYS/PERM] while the other device stays logged in', async () => {
    const phone = await RawLines.connect(pop3Plain);
    await phone.next(/^\+OK/);
    phone.send(`USER ${ALICE}\r\n`);
    await phone.next(/^\+OK/);
    phone.send(`PASS ${devices.phone!.password}\r\n`);
    expect(await phone.next(/^[+-]/)).toBe('+OK Logged in.');
    const laptop = pop3('laptop');
    expect(await laptop.STAT()).toMatch(/^1 \d+$/);
    expect(daemon.registry.list(ALICE).map((s) => `${s.protocol}:${s.deviceName}`).sort()).toEqual(['pop3:laptop', 'pop3:phone']);

    const revoked = await daemon.admin.revokeDevice(ALICE, devices.phone!.id, 'e2e');
    expect(revoked.sessionsClosed).toBe(1);
    expect(await phone.next(/^-ERR/)).toBe('-ERR [SYS/PERM] Session revoked by administrator');
    await phone.waitClosed(2000);
    expect(await laptop.STAT()).toMatch(/^1 \d+$/);
    expect(daemon.registry.list(ALICE).map((s) => s.deviceName)).toEqual(['laptop']);
    await laptop.QUIT();
  });

  it('DELE through devicepass removes the message at Dovecot', async () => {
    const first = pop3('laptop');
    expect(await first.DELE(1)).toMatch(/^Marked to be deleted/);
    await first.QUIT();
    const second = pop3('laptop');
    expect(await second.STAT()).toBe('0 0');
    await second.QUIT();
  });
});

/**
 * devicepass's master login, pipelined: XCLIENT and AUTH PLAIN go out before
 * Dovecot's greeting is read. Dovecot must still take the client address
 * from XCLIENT when it trusts devicepass, and still log the master login in
 * when it does not (refusing the XCLIENT it did not offer).
 */
describe.skipIf(!canRun)('the pipelined master login at a real Dovecot POP3', () => {
  const login = { address: ALICE, clientIp: '192.0.2.7', clientPort: 40123, sessionId: 'e2e-pipelined' };
  /** STAT on the logged-in session, its answer line, then the session closed. */
  const statThrough = async (socket: Socket): Promise<string> => {
    socket.write('STAT\r\n');
    let text = '';
    for await (const chunk of socket) {
      text += (chunk as Buffer).toString('latin1');
      if (text.includes('\r\n')) break;
    }
    socket.destroy();
    return text.slice(0, text.indexOf('\r\n'));
  };
  const open = (dovecot: DovecotInstance) =>
    openPop3Upstream({ host: dovecot.host, port: dovecot.pop3Port!, tls: 'none', master_user: dovecot.masterUser, master_password: dovecot.masterPassword }, login, silentLogger);

  it('Dovecot trusting loopback logs the login from the address XCLIENT gave, and the session answers', async () => {
    const dovecot = await startDovecot({ pop3: true });
    try {
      expect(await statThrough(await open(dovecot))).toMatch(/^\+OK \d+ \d+$/);
      await dovecot.waitForLog(/pop3-login: Info: Login: user=<alice@example\.com>, method=PLAIN, rip=192\.0\.2\.7, lip=127\.0\.0\.1/);
    } finally {
      await dovecot.stop();
    }
  });

  it('Dovecot not trusting loopback offers no XCLIENT and gets none: the master login is logged from loopback, and the session answers', async () => {
    const dovecot = await startDovecot({ pop3: true, trustLoopback: false });
    try {
      expect(await statThrough(await open(dovecot))).toMatch(/^\+OK \d+ \d+$/);
      await dovecot.waitForLog(/pop3-login: Info: Login: user=<alice@example\.com>, method=PLAIN, rip=127\.0\.0\.1/);
      expect(dovecot.log()).not.toContain('192.0.2.7');
    } finally {
      await dovecot.stop();
    }
  });

  it('on a spare greeted ahead of time, plaintext and over STLS: Dovecot takes XCLIENT and the master login, and the session answers', async () => {
    const dovecot = await startDovecot({ pop3: true, tls: true });
    try {
      for (const tls of ['none', 'starttls'] as const) {
        const upstream = { host: dovecot.host, port: dovecot.pop3Port!, tls, master_user: dovecot.masterUser, master_password: dovecot.masterPassword };
        const spare = await greetPop3Upstream(upstream, { ca: dovecot.ca! });
        // greeted, then left waiting as a spare is, before a login takes it
        await new Promise((r) => setTimeout(r, 200));
        expect(spare.usable()).toBe(true);
        const socket = await openPop3Upstream(upstream, { ...login, sessionId: `e2e-spare-${tls}` }, silentLogger, { ca: dovecot.ca! }, spare);
        expect(await statThrough(socket)).toMatch(/^\+OK \d+ \d+$/);
        await dovecot.waitForLog(new RegExp(`pop3-login: Info: Login: user=<alice@example\\.com>, method=PLAIN, rip=192\\.0\\.2\\.7, lip=127\\.0\\.0\\.1.*${tls === 'starttls' ? 'TLS' : ''}`));
      }
    } finally {
      await dovecot.stop();
    }
  });
});
