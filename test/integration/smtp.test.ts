import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import { addAddressWithDevice } from '../helpers/daemon-env.js';
import { startSmtpEnv, type SmtpEnv } from '../helpers/smtp-env.js';
import { b64, type FakeMta, SmtpTalk } from '../unit/smtp/helpers.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

const ports = (env: SmtpEnv) => ({ starttls: env.plainPort, implicit: env.tlsPort! });

function message(from: string, to: string, subject: string): string {
  return `From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\n\r\nHello\r\n.leading dot\r\n`;
}

/** A whole submission after login: envelope, DATA, message, final reply. */
async function submit(talk: SmtpTalk, from: string, to: string, subject: string): Promise<string[]> {
  const replies = [await talk.cmd(`MAIL FROM:<${from}>`), await talk.cmd(`RCPT TO:<${to}>`), await talk.cmd('DATA')];
  if (!replies[2]!.startsWith('354')) return replies;
  talk.write(`${message(from, to, subject)}.\r\n`);
  replies.push(await talk.read());
  return replies;
}

describe('SMTP submission front', () => {
  let env: SmtpEnv;
  let daemon: Daemon;
  let mta: FakeMta;
  const passwords: Record<string, string> = {};
  const deviceIds: Record<string, string> = {};
  let p: { starttls: number; implicit: number };

  beforeAll(async () => {
    env = await startSmtpEnv({ config: { smtp: { upstream: { xclient: true }, aliases: { [ALICE]: ['Sales@Example.com'] }, max_auth_failures: 3 } } });
    ({ daemon, mta } = env);
    p = ports(env);
    for (const address of [ALICE, BOB]) await daemon.admin.addAddress(address, 'test');
    for (const [key, address, scopes] of [
      ['phone', ALICE, 'smtp'],
      ['laptop', ALICE, 'smtp'],
      ['imapOnly', ALICE, 'imap'],
      ['bob', BOB, 'smtp,imap'],
    ] as const) {
      const device = await daemon.admin.addDevice(address, { name: key, scopes }, 'test');
      passwords[key] = device.password;
      deviceIds[key] = device.id;
    }
  });
  afterAll(() => env?.stop());

  const transport = (port: number, secure: boolean, user: string, pass: string) =>
    nodemailer.createTransport({ host: '127.0.0.1', port, secure, requireTLS: !secure, auth: { user, pass }, tls: { rejectUnauthorized: false } });

  it('relays a nodemailer message over STARTTLS with XCLIENT LOGIN and ADDR', async () => {
    const info = await transport(p.starttls, false, ALICE, passwords.phone!).sendMail({
      from: ALICE, to: 'friend@example.net', subject: 'over starttls', text: 'hi\n.dot line\n',
    });
    expect(info.response).toMatch(/^250 .*queued as FAKE/);
    const got = mta.received.at(-1)!;
    expect(got).toMatchObject({ from: ALICE, to: ['friend@example.net'], login: ALICE, addr: '127.0.0.1' });
    expect(got.data).toContain('Subject: over starttls');
    expect(got.data).toContain('\r\n.dot line\r\n');
  });

  it('relays over implicit TLS', async () => {
    const info = await transport(p.implicit, true, ALICE, passwords.laptop!).sendMail({ from: ALICE, to: 'x@example.net', subject: 'implicit', text: 'hi' });
    expect(info.accepted).toEqual(['x@example.net']);
    expect(mta.received.at(-1)).toMatchObject({ login: ALICE, to: ['x@example.net'] });
  });

  it('Outlook: AUTH LOGIN after STARTTLS, submission, QUIT', async () => {
    const talk = await SmtpTalk.connect(p.starttls);
    expect(await talk.read()).toMatch(/^220 /);
    expect(await talk.cmd('EHLO DESKTOP-7Q2K1LM')).toMatch(/STARTTLS/);
    await talk.starttls();
    const ehlo = await talk.cmd('EHLO DESKTOP-7Q2K1LM');
    expect(ehlo).toMatch(/AUTH PLAIN LOGIN/);
    expect(ehlo).not.toMatch(/XCLIENT|STARTTLS/);
    expect(await talk.cmd('AUTH LOGIN')).toBe('334 VXNlcm5hbWU6');
    expect(await talk.cmd(b64(ALICE))).toBe('334 UGFzc3dvcmQ6');
    expect(await talk.cmd(b64(passwords.laptop!))).toMatch(/^235 /);
    const replies = await submit(talk, ALICE, 'boss@example.net', 'from outlook');
    expect(replies.map((r) => r.slice(0, 3))).toEqual(['250', '250', '354', '250']);
    expect(replies[3]).toMatch(/queued as FAKE/);
    expect(await talk.cmd('QUIT')).toMatch(/^221/);
    expect(mta.received.at(-1)).toMatchObject({ login: ALICE, helo: 'desktop-7q2k1lm', to: ['boss@example.net'] });
  });

  it('Apple Mail: inline AUTH PLAIN over implicit TLS, BODY=8BITMIME and SIZE passed on', async () => {
    const talk = await SmtpTalk.connect(p.implicit, { tls: true });
    await talk.read();
    expect(await talk.cmd('EHLO [192.168.1.23]')).toMatch(/8BITMIME/);
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${passwords.phone}`)}`)).toMatch(/^235 /);
    expect(await talk.cmd(`MAIL FROM:<${ALICE}> SIZE=120 BODY=8BITMIME`)).toMatch(/^250/);
    expect(await talk.cmd('RCPT TO:<a@example.net>')).toMatch(/^250/);
    expect(await talk.cmd('RCPT TO:<b@example.net>')).toMatch(/^250/);
    expect(await talk.cmd('DATA')).toMatch(/^354/);
    talk.write(`${message(ALICE, 'a@example.net', 'from apple mail ü')}.\r\n`);
    expect(await talk.read()).toMatch(/^250 /);
    expect(mta.received.at(-1)!.to).toEqual(['a@example.net', 'b@example.net']);
    expect(mta.received.at(-1)!.data).toContain('from apple mail ü');
    talk.destroy();
  });

  it('Thunderbird: AUTH PLAIN with a continuation after STARTTLS', async () => {
    const talk = await SmtpTalk.connect(p.starttls);
    await talk.read();
    await talk.cmd('EHLO [127.0.0.1]');
    await talk.starttls();
    await talk.cmd('EHLO [127.0.0.1]');
    expect(await talk.cmd('AUTH PLAIN')).toBe('334 ');
    expect(await talk.cmd(b64(`\0${ALICE}\0${passwords.phone}`))).toMatch(/^235 /);
    expect((await submit(talk, ALICE, 'c@example.net', 'from thunderbird')).at(-1)).toMatch(/^250 /);
    talk.destroy();
  });

  it('refuses a wrong password with 535 5.7.8 and a device without the smtp scope the same way', async () => {
    const talk = await SmtpTalk.connect(p.implicit, { tls: true });
    await talk.read();
    await talk.cmd('EHLO client');
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0wrong password here`)}`)).toBe('535 5.7.8 Authentication credentials invalid');
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${passwords.imapOnly}`)}`)).toBe('535 5.7.8 Authentication credentials invalid');
    expect(await talk.cmd(`MAIL FROM:<${ALICE}>`)).toMatch(/^530/);
    talk.destroy();
  });

  it('counts inline AUTH PLAIN retries and closes with 421 past max_auth_failures', async () => {
    const talk = await SmtpTalk.connect(p.implicit, { tls: true });
    await talk.read();
    await talk.cmd('EHLO client');
    for (let i = 0; i < 3; i++) expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0guess number ${i}`)}`)).toMatch(/^535 5\.7\.8/);
    // the right password no longer helps on this connection
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${passwords.phone}`)}`)).toMatch(/^421 4\.7\.0/);
    await talk.closed;
  });

  it('refuses an authorization identity other than the login', async () => {
    const talk = await SmtpTalk.connect(p.implicit, { tls: true });
    await talk.read();
    await talk.cmd('EHLO client');
    expect(await talk.cmd(`AUTH PLAIN ${b64(`${BOB}\0${ALICE}\0${passwords.phone}`)}`)).toMatch(/^535 5\.7\.8/);
    expect(await talk.cmd(`AUTH PLAIN ${b64(`${ALICE}\0${ALICE}\0${passwords.phone}`)}`)).toMatch(/^235/);
    talk.destroy();
  });

  describe('sender policy (strict)', () => {
    let talk: SmtpTalk;
    beforeAll(async () => {
      talk = await SmtpTalk.connect(p.implicit, { tls: true });
      await talk.read();
      await talk.cmd('EHLO client');
      await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${passwords.phone}`)}`);
    });
    afterAll(() => talk.destroy());

    it('refuses another address, and the null sender, with 553 5.7.1', async () => {
      expect(await talk.cmd(`MAIL FROM:<${BOB}>`)).toMatch(/^553 5\.7\.1 /);
      expect(await talk.cmd('MAIL FROM:<>')).toMatch(/^553 5\.7\.1 /);
    });

    it('accepts the login address in any case and a configured alias', async () => {
      expect((await submit(talk, 'ALICE@Example.COM', 'd@example.net', 'case')).at(-1)).toMatch(/^250/);
      expect((await submit(talk, 'sales@example.com', 'd@example.net', 'alias')).at(-1)).toMatch(/^250/);
      expect(mta.received.at(-1)).toMatchObject({ from: 'sales@example.com', login: ALICE });
    });
  });

  it('passes the upstream refusal of a recipient and of a message through, code and text', async () => {
    mta.refuseRecipients.add('nobody@example.net');
    const talk = await SmtpTalk.connect(p.implicit, { tls: true });
    await talk.read();
    await talk.cmd('EHLO client');
    await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${passwords.phone}`)}`);
    expect(await talk.cmd(`MAIL FROM:<${ALICE}>`)).toMatch(/^250/);
    expect(await talk.cmd('RCPT TO:<nobody@example.net>')).toBe('550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown');
    expect(await talk.cmd('RCPT TO:<somebody@example.net>')).toMatch(/^250/);
    mta.refuseData = { code: 554, message: 'Message refused as spam' };
    const count = mta.received.length;
    expect(await talk.cmd('DATA')).toMatch(/^354/);
    talk.write(`${message(ALICE, 'somebody@example.net', 'spam')}.\r\n`);
    expect(await talk.read()).toBe('554 5.6.0 Message refused as spam');
    mta.refuseData = null;
    expect(mta.received.length).toBe(count);
    // the session goes on after a refused transaction
    expect((await submit(talk, ALICE, 'somebody@example.net', 'after refusal')).at(-1)).toMatch(/^250/);
    talk.destroy();
  });

  it('closes a revoked device’s session with 421 within 100 ms while another device’s session stays', async () => {
    const open = async (key: string, address: string) => {
      const talk = await SmtpTalk.connect(p.implicit, { tls: true });
      await talk.read();
      await talk.cmd('EHLO client');
      expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${address}\0${passwords[key]}`)}`)).toMatch(/^235/);
      return talk;
    };
    const revoked = await open('laptop', ALICE);
    const other = await open('phone', ALICE);
    const bob = await open('bob', BOB);
    expect(daemon.registry.list(ALICE).filter((s) => s.protocol === 'smtp').length).toBeGreaterThanOrEqual(2);
    // in the middle of a transaction
    expect(await revoked.cmd(`MAIL FROM:<${ALICE}>`)).toMatch(/^250/);
    const started = performance.now();
    const result = await daemon.admin.revokeDevice(ALICE, deviceIds.laptop, 'test');
    expect(result.sessionsClosed).toBe(1);
    expect(await revoked.read()).toBe('421 4.7.0 Session revoked by administrator');
    await revoked.closed;
    expect(revoked.closedAt - started).toBeLessThan(100);
    expect(await other.cmd('NOOP')).toMatch(/^250/);
    expect((await submit(other, ALICE, 'e@example.net', 'still here')).at(-1)).toMatch(/^250/);
    expect((await submit(bob, BOB, 'e@example.net', 'bob too')).at(-1)).toMatch(/^250/);
    // and the revoked password no longer logs in
    const again = await SmtpTalk.connect(p.implicit, { tls: true });
    await again.read();
    await again.cmd('EHLO client');
    expect(await again.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${passwords.laptop}`)}`)).toMatch(/^535/);
    for (const t of [other, bob, again]) t.destroy();
  });

  it('uses one upstream connection per session and replaces one the MTA closed', async () => {
    const talk = await SmtpTalk.connect(p.implicit, { tls: true });
    await talk.read();
    await talk.cmd('EHLO client');
    // counted from before the login: the upstream connection is opened as soon as the login succeeds
    const before = mta.connections;
    await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${passwords.phone}`)}`);
    for (const subject of ['one', 'two', 'three']) expect((await submit(talk, ALICE, 'f@example.net', subject)).at(-1)).toMatch(/^250/);
    expect(mta.connections - before).toBe(1);
    mta.dropConnections();
    await new Promise((r) => setTimeout(r, 50));
    expect((await submit(talk, ALICE, 'f@example.net', 'after idle timeout')).at(-1)).toMatch(/^250/);
    expect(mta.connections - before).toBe(2);
    // RSET in the middle of a transaction: the next one starts clean upstream
    expect(await talk.cmd(`MAIL FROM:<${ALICE}>`)).toMatch(/^250/);
    expect(await talk.cmd('RSET')).toMatch(/^250/);
    expect((await submit(talk, ALICE, 'g@example.net', 'after rset')).at(-1)).toMatch(/^250/);
    expect(mta.received.at(-1)).toMatchObject({ to: ['g@example.net'] });
    talk.destroy();
  });

  it('unregisters sessions that end', async () => {
    const talk = await SmtpTalk.connect(p.implicit, { tls: true });
    await talk.read();
    await talk.cmd('EHLO client');
    await talk.cmd(`AUTH PLAIN ${b64(`\0${BOB}\0${passwords.bob}`)}`);
    expect(daemon.registry.list(BOB).some((s) => s.protocol === 'smtp' && s.clientName === 'client')).toBe(true);
    await talk.cmd('QUIT');
    await talk.closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(daemon.registry.list(BOB)).toEqual([]);
  });
});

describe('SMTP submission when the upstream is down, and from untrusted networks', () => {
  let env: SmtpEnv;
  let daemon: Daemon;
  let password: string;
  let p: { starttls: number; implicit: number };

  beforeAll(async () => {
    env = await startSmtpEnv({ deadUpstream: true, config: { auth: { trusted_networks: ['192.0.2.0/24'] } } });
    daemon = env.daemon;
    p = ports(env);
    password = await addAddressWithDevice(daemon, ALICE, { name: 'phone', scopes: 'smtp' });
  });
  afterAll(() => env?.stop());

  it('refuses AUTH before TLS from an untrusted client with 538, accepts it after STARTTLS', async () => {
    const talk = await SmtpTalk.connect(p.starttls);
    await talk.read();
    await talk.cmd('EHLO client');
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${password}`)}`)).toMatch(/^538 5\.7\.11 /);
    expect(await talk.cmd('AUTH LOGIN')).toBe('334 VXNlcm5hbWU6');
    await talk.cmd(b64(ALICE));
    expect(await talk.cmd(b64(password))).toMatch(/^538 5\.7\.11 /);
    await talk.starttls();
    await talk.cmd('EHLO client');
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${password}`)}`)).toMatch(/^235/);
    talk.destroy();
  });

  it('answers 451 4.4.1 when the upstream cannot be reached, and nodemailer sees the failure', async () => {
    const talk = await SmtpTalk.connect(p.implicit, { tls: true });
    await talk.read();
    await talk.cmd('EHLO client');
    await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${password}`)}`);
    expect(await talk.cmd(`MAIL FROM:<${ALICE}>`)).toBe('451 4.4.1 Upstream mail server unavailable, try again later');
    talk.destroy();
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: p.implicit, secure: true, auth: { user: ALICE, pass: password }, tls: { rejectUnauthorized: false } });
    await expect(transport.sendMail({ from: ALICE, to: 'x@example.net', text: 'x' })).rejects.toMatchObject({ responseCode: 451 });
  });

  it('ends live sessions with 421 4.3.2 when the daemon stops', async () => {
    const talk = await SmtpTalk.connect(p.implicit, { tls: true });
    await talk.read();
    await talk.cmd('EHLO client');
    const stopping = daemon.stop();
    expect(await talk.read()).toBe('421 4.3.2 Service shutting down');
    await talk.closed;
    await stopping;
  });
});
