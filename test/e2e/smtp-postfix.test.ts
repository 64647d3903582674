import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import { b64, SmtpTalk } from '../unit/smtp/helpers.js';
import { POSTFIX_REFUSED_RECIPIENT, postfixAsRootReady, startDaemonBeforePostfix, type PostfixInstance } from './helpers/postfix.js';

const run = promisify(execFile);
const ALICE = 'alice@example.com';

/** devicepass in front of a real Postfix: the login reaches Postfix through XCLIENT and lands in Received. */
describe.skipIf(!postfixAsRootReady())('SMTP submission relayed to a real Postfix', () => {
  let postfix: PostfixInstance;
  let daemon: Daemon;
  let stop: () => Promise<void>;
  let port: number;
  let tlsPort: number;
  const devices: Record<string, { id: string; password: string }> = {};

  beforeAll(async () => {
    ({ postfix, daemon, stop } = await startDaemonBeforePostfix(ALICE, { smtp: { listen: ['127.0.0.1:0'], listen_tls: ['127.0.0.1:0'], upstream: { xclient: true } } }));
    const [plain, secure] = daemon.surfaces.find((s) => s.name === 'smtp')!.addresses();
    port = Number(plain!.split(':').pop());
    tlsPort = Number(secure!.split(':').pop());
    for (const name of ['laptop', 'printer']) {
      const device = await daemon.admin.addDevice(ALICE, { name, scopes: 'smtp' }, 'test');
      devices[name] = { id: device.id, password: device.password };
    }
  });
  afterAll(() => stop?.());

  it('delivers a nodemailer message with the authenticated sender recorded by Postfix', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port, secure: false, requireTLS: true, name: 'laptop.example.com',
      auth: { user: ALICE, pass: devices.laptop!.password }, tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({ from: ALICE, to: 'friend@example.net', subject: 'through devicepass', text: 'hello\n.with a dot\n' });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as /);
    const [delivered] = await postfix.waitForMessages(1);
    expect(delivered).toContain(`(Authenticated sender: ${ALICE})`);
    expect(delivered).toMatch(/Received: from laptop\.example\.com \(unknown \[127\.0\.0\.1\]\)/);
    expect(delivered).toContain('Subject: through devicepass');
    expect(delivered).toContain('\n.with a dot');
  });

  // Debian's swaks without libnet-ssleay-perl speaks no TLS: loopback is a trusted network, where AUTH without TLS is allowed
  it('delivers a message sent with swaks (plain AUTH from the trusted loopback)', async () => {
    const { stdout } = await run('swaks', [
      '--server', '127.0.0.1', '--port', String(port), '--helo', 'swaks.example.com',
      '--auth', 'PLAIN', '--auth-user', ALICE, '--auth-password', devices.printer!.password,
      '--from', ALICE, '--to', 'printer-out@example.net', '--header', 'Subject: from swaks',
    ]);
    expect(stdout).toMatch(/<-\s+250 2\.0\.0 Ok: queued/);
    const messages = await postfix.waitForMessages(2);
    expect(messages.find((m) => m.includes('Subject: from swaks'))).toContain(`(Authenticated sender: ${ALICE})`);
  });

  it('passes Postfix’s refusal of a recipient through to the client', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: tlsPort, secure: true, auth: { user: ALICE, pass: devices.laptop!.password }, tls: { rejectUnauthorized: false } });
    const err = await transport.sendMail({ from: ALICE, to: POSTFIX_REFUSED_RECIPIENT, text: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ responseCode: 550 });
    expect((err as { response: string }).response).toBe(`550 5.1.1 <${POSTFIX_REFUSED_RECIPIENT}>: Recipient address rejected: Mailbox unavailable`);
  });

  it('closes a revoked device’s open session with 421 and refuses its password afterwards', async () => {
    const talk = await SmtpTalk.connect(tlsPort, { tls: true });
    await talk.read();
    await talk.cmd('EHLO printer');
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${devices.printer!.password}`)}`)).toMatch(/^235/);
    const before = postfix.messages().length;
    await daemon.admin.revokeDevice(ALICE, devices.printer!.id, 'test');
    expect(await talk.read()).toBe('421 4.7.0 Session revoked by administrator');
    await talk.closed;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: tlsPort, secure: true, auth: { user: ALICE, pass: devices.printer!.password }, tls: { rejectUnauthorized: false } });
    await expect(transport.sendMail({ from: ALICE, to: 'friend@example.net', text: 'x' })).rejects.toMatchObject({ code: 'EAUTH', responseCode: 535 });
    // the other device goes on
    const other = nodemailer.createTransport({ host: '127.0.0.1', port: tlsPort, secure: true, auth: { user: ALICE, pass: devices.laptop!.password }, tls: { rejectUnauthorized: false } });
    await other.sendMail({ from: ALICE, to: 'friend@example.net', subject: 'after revoke', text: 'x' });
    const messages = await postfix.waitForMessages(before + 1);
    expect(messages.filter((m) => m.includes('Subject: after revoke'))).toHaveLength(1);
  });
});
