import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/e2e/host.js';
import { callDaemon } from '../../src/cli/client.js';
import { cli, startDaemonProcess, tempDir, writeConfig, type DaemonProcess, type FrontSections } from '../helpers/env.js';
import { RawImap } from '../helpers/imap-raw-client.js';
import { skipPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startUrlProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { b64, SmtpTalk } from '../unit/smtp/helpers.js';
import { dovecotInstalled, startDovecot, type DovecotInstance } from './helpers/dovecot.js';
import { postfixInstalled, startPostfix, type PostfixInstance } from './helpers/postfix.js';
import { serversReady } from './helpers/require-servers.js';

const ADDRESS = 'alice@example.com';
const canRun = serversReady(!skipPostgres && dovecotInstalled() && postfixInstalled() && process.getuid?.() === 0, 'PostgreSQL, Dovecot and Postfix (as root)');

interface Node {
  name: string;
  config: string;
  process: DaemonProcess;
}

interface Device {
  id: string;
  password: string;
}

/**
 * Three devicepassd processes on one PostgreSQL, as a provider runs them
 * behind a load balancer: A is where the administrator works, B serves
 * IMAP in front of a real Dovecot, C serves SMTP submission in front of a
 * real Postfix. Whatever is changed through A holds on B and C the moment
 * the command returns: no window, no race, frozen nodes and a restarted
 * database included.
 */
describe.skipIf(!canRun)('several nodes on one PostgreSQL', () => {
  let postgres: TestPostgres;
  let dovecot: DovecotInstance;
  let postfix: PostfixInstance;
  let cleanup: () => void;
  let a: Node;
  let b: Node;
  let c: Node;
  let imapPort: number;
  let smtpPort: number;
  let healthPort: number;
  /** Between node C and PostgreSQL: cut, it is a partition. */
  let cPath: TcpProxy;

  const startNode = async (root: string, name: string, url: string, fronts: FrontSections, extra = ''): Promise<Node> => {
    const dir = path.join(root, name);
    mkdirSync(dir, { mode: 0o755 });
    const config = writeConfig(dir, `[store]\ndriver = "postgres"\nurl = ${JSON.stringify(url)}\npool_size = 4\nlease = "1s"\n${extra}`, fronts);
    return { name, config, process: await startDaemonProcess(config, path.join(dir, 'control.sock')) };
  };

  beforeAll(async () => {
    [postgres, dovecot, postfix] = await Promise.all([startPostgres(), startDovecot(), startPostfix()]);
    const url = await postgres.createDatabase();
    const tmp = tempDir('dp-cluster');
    cleanup = tmp.cleanup;
    [imapPort, smtpPort, healthPort] = [await freePort(), await freePort(), await freePort()];
    // one at a time: the first runs the migrations, the others find them done
    a = await startNode(tmp.dir, 'a', url, {});
    b = await startNode(tmp.dir, 'b', url, { imap: `listen = ["127.0.0.1:${imapPort}"]\nlisten_tls = []`, http: `listen = ["127.0.0.1:${healthPort}"]` },
      `[imap.upstream]\nhost = "${dovecot.host}"\nport = ${dovecot.port}\ntls = "none"\nmaster_user = "${dovecot.masterUser}"\nmaster_password = "${dovecot.masterPassword}"\n`);
    const viaProxy = await startUrlProxy(url);
    cPath = viaProxy.proxy;
    c = await startNode(tmp.dir, 'c', viaProxy.url, { smtp: `listen = ["127.0.0.1:${smtpPort}"]\nlisten_tls = []` },
      `[smtp.upstream]\nhost = "${postfix.host}"\nport = ${postfix.port}\nxclient = true\n`);
    expect((await admin(['address', 'add', ADDRESS])).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    // a node left frozen by a failed test must still be able to stop
    for (const node of [a, b, c]) if (node?.process.child.exitCode === null) node.process.child.kill('SIGCONT');
    await Promise.all([a, b, c].map((node) => node?.process.stop()));
    await cPath?.close();
    await Promise.all([postgres?.stop(), dovecot?.stop(), postfix?.stop()]);
    cleanup?.();
  }, 60_000);

  /** The CLI against node A's control socket. */
  const admin = (args: string[]) => cli(['--config', a.config, '--json', ...args]);
  const addDevice = async (name: string): Promise<Device> => {
    const made = await admin(['device', 'add', ADDRESS, '--name', name]);
    expect(made.code, made.stderr).toBe(0);
    return JSON.parse(made.stdout) as Device;
  };
  const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; returnedAt: number; ms: number }> => {
    const started = performance.now();
    const value = await work();
    const returnedAt = performance.now();
    return { value, returnedAt, ms: returnedAt - started };
  };

  /**
   * One IMAP LOGIN through node B; the tagged answer, or the BYE of a
   * session cut before the answer was sent (a login that raced a revocation).
   */
  const imapLogin = async (password: string): Promise<string> => {
    const raw = await RawImap.connect(imapPort);
    try {
      await raw.next((l) => l.startsWith('* OK'));
      const lines = await raw.command('a', `LOGIN "${ADDRESS}" "${password}"`, 10_000).catch((err: unknown) => {
        if (raw.isClosed && raw.lines.at(-1)?.startsWith('* BYE')) return raw.lines;
        throw err;
      });
      return lines.at(-1)!;
    } finally {
      raw.destroy();
    }
  };
  /** EHLO on node C's submission port, ready for AUTH. */
  const smtpSession = async (): Promise<SmtpTalk> => {
    const talk = await SmtpTalk.connect(smtpPort);
    expect(await talk.read()).toMatch(/^220 /);
    expect(await talk.cmd('EHLO client.example.com')).toMatch(/^250/);
    return talk;
  };
  const smtpAuth = (talk: SmtpTalk, password: string) => talk.cmd(`AUTH PLAIN ${b64(`\0${ADDRESS}\0${password}`)}`);
  /** One AUTH through node C; the reply. */
  const smtpLogin = async (password: string): Promise<string> => {
    const talk = await smtpSession();
    try {
      return await smtpAuth(talk, password);
    } finally {
      talk.destroy();
    }
  };
  const imapClient = (password: string) =>
    new ImapFlow({ host: '127.0.0.1', port: imapPort, secure: false, logger: false, tls: { rejectUnauthorized: false }, auth: { user: ADDRESS, pass: password } });
  const health = async () => {
    const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    return { status: res.status, body: (await res.json()) as { status: string; store: string } };
  };

  it('a device added on A logs in on B over IMAP to Dovecot and on C over SMTP to Postfix', async () => {
    const phone = await addDevice('iPhone');
    const imap = imapClient(phone.password);
    await imap.connect();
    const message = `From: ${ADDRESS}\r\nTo: ${ADDRESS}\r\nSubject: via node B\r\n\r\nstored through the second node\r\n`;
    await imap.append('INBOX', message);
    expect((await imap.status('INBOX', { messages: true }) as { messages?: number }).messages).toBeGreaterThanOrEqual(1);
    await imap.logout();
    await dovecot.waitForLog(/Login: user=<alice@example\.com>/);

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, auth: { user: ADDRESS, pass: phone.password } });
    const before = postfix.messages().length;
    await transport.sendMail({ from: ADDRESS, to: 'friend@example.net', subject: 'via node C', text: 'sent through the third node\n' });
    const delivered = await postfix.waitForMessages(before + 1);
    expect(delivered.at(-1)).toContain(`(Authenticated sender: ${ADDRESS})`);
  });

  it('a revocation through A cuts the IMAP session on B and the SMTP session on C, and both refuse the password once it returned', async () => {
    const phone = await addDevice('Phone to revoke');
    const keeper = await addDevice('Laptop that stays');
    // both nodes hold the password in their proof caches before the revocation
    expect(await imapLogin(phone.password)).toMatch(/^a OK/);
    expect(await smtpLogin(phone.password)).toMatch(/^235/);

    const imap = imapClient(phone.password);
    await imap.connect();
    await imap.mailboxOpen('INBOX');
    const imapClosed = new Promise<number>((resolve) => imap.once('close', () => resolve(performance.now())));
    const smtp = await smtpSession();
    expect(await smtpAuth(smtp, phone.password)).toMatch(/^235/);
    const keeperSession = await smtpSession();
    expect(await smtpAuth(keeperSession, keeper.password)).toMatch(/^235/);

    // logins keep arriving on B and C while the command runs
    let hammering = true;
    const attempts: Array<{ startedAt: number; reply: string }> = [];
    const hammer = (login: (password: string) => Promise<string>) =>
      (async () => {
        while (hammering) {
          const startedAt = performance.now();
          attempts.push({ startedAt, reply: await login(phone.password) });
        }
      })();
    const hammers = [hammer(imapLogin), hammer(smtpLogin)];
    await sleep(100);
    // on A's control socket, as the CLI sends it: "returned" is when A answered, not when a CLI process exited
    const revoke = await timed(() => callDaemon(a.process.socket, 'device.revoke', { address: ADDRESS, device: phone.id }));
    expect(revoke.value).toMatchObject({ id: phone.id, state: 'revoked' });
    // the first attempts after the command returned, on each node, are refused
    expect(await imapLogin(phone.password)).toMatch(/^a NO \[AUTHENTICATIONFAILED\]/);
    expect(await smtpLogin(phone.password)).toMatch(/^535 /);
    await sleep(300);
    hammering = false;
    await Promise.all(hammers);

    const accepted = (reply: string) => reply.startsWith('a OK') || reply.startsWith('235');
    expect(attempts.filter((t) => accepted(t.reply) && t.startedAt > revoke.returnedAt)).toEqual([]);
    expect(attempts.some((t) => t.startedAt > revoke.returnedAt)).toBe(true);

    // the live sessions on the other nodes were cut: the SMTP client is told why
    expect(await smtp.read()).toBe('421 4.7.0 Session revoked by administrator');
    await smtp.closed;
    const imapClosedAt = await imapClosed;
    imap.close();
    // within 100 ms of the command returning (the product's promise; usually before it returns)
    expect(imapClosedAt - revoke.returnedAt).toBeLessThan(100);
    expect(smtp.closedAt - revoke.returnedAt).toBeLessThan(100);
    // the other device's session on C is untouched
    expect(await keeperSession.cmd('NOOP')).toMatch(/^250/);
    keeperSession.destroy();
    expect(await smtpLogin(keeper.password)).toMatch(/^235/);
  }, 60_000);

  it('node C frozen during a revocation: the command returns once its lease ran out, and C refuses the old password on its first attempt after waking', async () => {
    const scanner = await addDevice('Scanner');
    expect(await smtpLogin(scanner.password)).toMatch(/^235/);
    expect(await smtpLogin(scanner.password)).toMatch(/^235/);
    // the client is connected and past EHLO before C freezes; its AUTH waits in C's socket buffer
    const pending = await smtpSession();
    c.process.child.kill('SIGSTOP');
    try {
      const revoke = await timed(() => admin(['device', 'revoke', ADDRESS, scanner.id]));
      expect(revoke.value.code, revoke.value.stderr).toBe(0);
      // it did not wait forever on the frozen node: at most its lease (1 s), then the change counts as taken in everywhere
      expect(revoke.ms).toBeLessThan(3_000);
      pending.write(`AUTH PLAIN ${b64(`\0${ADDRESS}\0${scanner.password}`)}\r\n`);
    } finally {
      c.process.child.kill('SIGCONT');
    }
    expect(await pending.read(10_000)).toMatch(/^535 /);
    pending.destroy();
    expect(await smtpLogin(scanner.password)).toMatch(/^535 /);
    // and C keeps working for everyone else
    const other = await addDevice('Printer');
    expect(await smtpLogin(other.password)).toMatch(/^235/);
  }, 60_000);

  it('node C cut off from PostgreSQL (no error, no reset: a partition): the revocation returns once C\'s lease ran out, and C accepts no password it cannot prove unrevoked', async () => {
    const watch = await addDevice('Watch');
    const keeper = await addDevice('Desktop');
    for (const device of [watch, keeper]) {
      expect(await smtpLogin(device.password)).toMatch(/^235/);
      expect(await smtpLogin(device.password)).toMatch(/^235/);
    }
    cPath.partition();
    try {
      // C's journal feed still looks connected, its mirror still holds both rows: only its lease tells it to stop trusting them
      const revoke = await timed(() => admin(['device', 'revoke', ADDRESS, watch.id]));
      expect(revoke.value.code, revoke.value.stderr).toBe(0);
      expect(revoke.ms).toBeLessThan(3_000);
      // refused, and as a temporary failure: C cannot tell a revoked password from a good one now
      expect(await smtpLogin(watch.password)).toMatch(/^454 /);
      expect(await smtpLogin(keeper.password)).toMatch(/^454 /);
      // B, on its own path to the database, knows at once
      expect(await imapLogin(watch.password)).toMatch(/^a NO \[AUTHENTICATIONFAILED\]/);
    } finally {
      cPath.heal();
    }
    await waitFor(async () => (await smtpLogin(keeper.password)).startsWith('235'), 30_000);
    expect(await smtpLogin(watch.password)).toMatch(/^535 /);
  }, 90_000);

  it('PostgreSQL restarted mid-run: temporary failures while it is down, never "wrong password"; nothing acknowledged is lost; the feeds catch up', async () => {
    const tablet = await addDevice('Tablet');
    const doomed = await addDevice('Old phone');
    for (const device of [tablet, doomed]) {
      expect(await imapLogin(device.password)).toMatch(/^a OK/);
      expect(await smtpLogin(device.password)).toMatch(/^235/);
    }
    expect(await health()).toMatchObject({ status: 200, body: { store: 'ok' } });

    await postgres.stopServer();
    try {
      // a node that cannot prove the password unrevoked does not accept it, and does not call it wrong
      await waitFor(async () => (await health()).status === 503);
      expect((await health()).body.store).toBe('failing');
      expect(await imapLogin(tablet.password)).toMatch(/^a NO \[UNAVAILABLE\]/);
      expect(await smtpLogin(tablet.password)).toMatch(/^454 /);
      expect(await imapLogin('not the password at all')).toMatch(/^a NO \[UNAVAILABLE\]/);
      const refused = await admin(['device', 'revoke', ADDRESS, doomed.id]);
      expect(refused.code).not.toBe(0);
    } finally {
      await postgres.startServer();
    }

    // the feeds and pools reconnect by themselves
    await waitFor(async () => (await health()).status === 200, 20_000);
    await waitFor(async () => (await smtpLogin(tablet.password)).startsWith('235'), 20_000);
    expect(await imapLogin(tablet.password)).toMatch(/^a OK/);
    // the revocation that failed while the database was down did not happen
    expect(await smtpLogin(doomed.password)).toMatch(/^235/);
    const listed = JSON.parse((await admin(['device', 'list', ADDRESS])).stdout) as Array<{ id: string; state: string }>;
    expect(listed.find((d) => d.id === doomed.id)?.state).toBe('active');

    // a revocation made after the restart holds on B and C at once
    const revoke = await admin(['device', 'revoke', ADDRESS, doomed.id]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(await imapLogin(doomed.password)).toMatch(/^a NO \[AUTHENTICATIONFAILED\]/);
    expect(await smtpLogin(doomed.password)).toMatch(/^535 /);

    // and a restart while logins and changes keep coming loses no change that returned
    let running = true;
    const changed: string[] = [];
    const changes = (async () => {
      for (let i = 0; running; i++) {
        const made = await admin(['device', 'add', ADDRESS, '--name', `During restart ${i}`]);
        if (made.code === 0) changed.push((JSON.parse(made.stdout) as Device).id);
      }
    })();
    const logins: string[] = [];
    const loginLoop = (async () => {
      while (running) logins.push(await smtpLogin(tablet.password));
    })();
    await sleep(500);
    await postgres.restart();
    await sleep(1500);
    running = false;
    await Promise.all([changes, loginLoop]);
    expect(logins.filter((reply) => reply.startsWith('535'))).toEqual([]);
    const after = JSON.parse((await admin(['device', 'list', ADDRESS])).stdout) as Array<{ id: string }>;
    const ids = new Set(after.map((d) => d.id));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.filter((id) => !ids.has(id))).toEqual([]);
  }, 120_000);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(100);
  }
}
