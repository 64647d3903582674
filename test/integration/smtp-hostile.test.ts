import net from 'node:net';
import tls from 'node:tls';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAddressWithDevice } from '../helpers/daemon-env.js';
import { startSmtpEnv, type SmtpEnv } from '../helpers/smtp-env.js';
import { b64, type FakeMta, SmtpTalk } from '../unit/smtp/helpers.js';

const ALICE = 'alice@example.com';

/** What careless and hostile clients send: every answer is an SMTP reply, and the daemon keeps serving. */
describe('SMTP front under hostile input', () => {
  let env: SmtpEnv;
  let mta: FakeMta;
  let password: string;
  let port: number;
  let tlsPort: number;

  beforeAll(async () => {
    env = await startSmtpEnv({ config: { smtp: { max_message_bytes: 4096, max_recipients: 3, max_unauthenticated_commands: 8 } } });
    ({ mta, plainPort: port } = env);
    tlsPort = env.tlsPort!;
    password = await addAddressWithDevice(env.daemon, ALICE, { name: 'phone', scopes: 'smtp' });
  });
  afterAll(() => env?.stop());

  async function greeted(): Promise<SmtpTalk> {
    const talk = await SmtpTalk.connect(port);
    await talk.read();
    await talk.cmd('EHLO hostile');
    return talk;
  }

  async function stillServing(): Promise<void> {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: tlsPort, secure: true, auth: { user: ALICE, pass: password }, tls: { rejectUnauthorized: false } });
    const info = await transport.sendMail({ from: ALICE, to: 'ok@example.net', subject: 'alive', text: 'alive' });
    expect(info.response).toMatch(/^250/);
  }

  it.each([
    ['bad base64', 'AUTH PLAIN !!!!****', /^501 /],
    ['no NUL separators', `AUTH PLAIN ${b64(`${ALICE}secret password`)}`, /^501 /],
    ['one NUL only', `AUTH PLAIN ${b64(`${ALICE}\0secret`)}`, /^501 /],
    ['too many fields', `AUTH PLAIN ${b64(`a\0b\0c\0d`)}`, /^501 /],
    ['control characters in the login', `AUTH PLAIN ${b64(`\0al\rice@example.com\0secret`)}`, /^501 /],
    ['empty password', `AUTH PLAIN ${b64(`\0${ALICE}\0`)}`, /^535 5\.7\.8/],
    ['not an address', `AUTH PLAIN ${b64('\0alice\0secret password')}`, /^535 5\.7\.8/],
    ['oversized password', `AUTH PLAIN ${b64(`\0${ALICE}\0${'x'.repeat(6000)}`)}`, /^535 5\.7\.8/],
    ['unknown mechanism', 'AUTH CRAM-MD5', /^504 /],
    ['extra arguments', 'AUTH PLAIN a b', /^501 /],
  ])('malformed AUTH: %s gets a clear reply', async (_name, line, expected) => {
    const talk = await greeted();
    expect(await talk.cmd(line)).toMatch(expected);
    expect(await talk.cmd('NOOP')).toMatch(/^250/);
    talk.destroy();
  });

  it('AUTH LOGIN with garbage and an aborted exchange', async () => {
    const talk = await greeted();
    expect(await talk.cmd('AUTH LOGIN')).toMatch(/^334/);
    expect(await talk.cmd('')).toMatch(/^501 /);
    expect(await talk.cmd('AUTH LOGIN')).toMatch(/^334/);
    expect(await talk.cmd(b64(ALICE))).toMatch(/^334/);
    expect(await talk.cmd('*')).toMatch(/^501 /);
    talk.destroy();
  });

  it('a command line over the length limit ends the connection with 421, not a crash', async () => {
    const talk = await greeted();
    talk.write(`AUTH PLAIN ${'A'.repeat(40_000)}\r\n`);
    expect(await talk.read()).toMatch(/^421 /);
    await talk.closed;
  });

  it('pipelined commands before login are answered in order and cut at the unauthenticated limit', async () => {
    const talk = await SmtpTalk.connect(port);
    await talk.read();
    talk.write(['EHLO a', 'MAIL FROM:<a@example.com>', 'RCPT TO:<b@example.com>', 'DATA', 'NOOP', 'RSET', 'NOOP', 'NOOP', 'NOOP', 'NOOP', 'NOOP'].map((l) => `${l}\r\n`).join(''));
    const replies: string[] = [];
    for (;;) {
      const reply = await talk.read().catch(() => null);
      if (reply === null) break;
      replies.push(reply);
      if (reply.startsWith('421')) break;
    }
    expect(replies[0]).toMatch(/^250/);
    expect(replies.slice(1, 4).every((r) => r.startsWith('530'))).toBe(true);
    expect(replies.at(-1)).toMatch(/^421 /);
    await talk.closed;
  });

  it('a flood of pipelined commands after login is answered and bounded', async () => {
    const talk = await SmtpTalk.connect(tlsPort, { tls: true });
    await talk.read();
    await talk.cmd('EHLO flood');
    await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${password}`)}`);
    talk.write('NOOP\r\n'.repeat(2000));
    for (let i = 0; i < 2000; i++) expect(await talk.read()).toMatch(/^250/);
    talk.write(`MAIL FROM:<${ALICE}>\r\n` + ['a', 'b', 'c', 'd'].map((r) => `RCPT TO:<${r}@example.net>\r\n`).join(''));
    expect(await talk.read()).toMatch(/^250/);
    for (let i = 0; i < 3; i++) expect(await talk.read()).toMatch(/^250/);
    expect(await talk.read()).toMatch(/^452 /);
    talk.destroy();
  });

  it('an oversized message is refused with 552 and never reaches the upstream', async () => {
    const talk = await SmtpTalk.connect(tlsPort, { tls: true });
    await talk.read();
    await talk.cmd('EHLO big');
    await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${password}`)}`);
    const count = mta.received.length;
    expect(await talk.cmd(`MAIL FROM:<${ALICE}>`)).toMatch(/^250/);
    expect(await talk.cmd('RCPT TO:<big@example.net>')).toMatch(/^250/);
    expect(await talk.cmd('DATA')).toMatch(/^354/);
    talk.write(`Subject: big\r\n\r\n${'0123456789abcdef\r\n'.repeat(1000)}.\r\n`);
    expect(await talk.read()).toMatch(/^552 /);
    expect(mta.received.length).toBe(count);
    expect(await talk.cmd('NOOP')).toMatch(/^250/);
    talk.destroy();
  });

  it('early disconnects: before the greeting, mid-TLS, mid-AUTH, mid-DATA', async () => {
    const count = mta.received.length;
    net.connect(port, '127.0.0.1').on('error', () => undefined).on('connect', function (this: net.Socket) {
      this.destroy();
    });
    const half = net.connect(tlsPort, '127.0.0.1');
    half.on('error', () => undefined);
    half.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10]));
    half.destroy();
    const early = net.connect(port, '127.0.0.1');
    early.on('error', () => undefined);
    early.write('EHLO too-soon\r\nAUTH PLAIN\r\n');
    setTimeout(() => early.destroy(), 20);

    const auth = await greeted();
    await auth.cmd('AUTH LOGIN');
    auth.destroy();

    const data = await SmtpTalk.connect(tlsPort, { tls: true });
    await data.read();
    await data.cmd('EHLO leaving');
    await data.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${password}`)}`);
    await data.cmd(`MAIL FROM:<${ALICE}>`);
    await data.cmd('RCPT TO:<half@example.net>');
    expect(await data.cmd('DATA')).toMatch(/^354/);
    data.write('Subject: half a message\r\n\r\nand then');
    await new Promise((r) => setTimeout(r, 50));
    data.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(mta.received.length).toBe(count);
    await stillServing();
  });

  it('HTTP, XCLIENT, XFORWARD, VRFY and sendmail jokes are refused', async () => {
    const talk = await greeted();
    for (const line of ['XCLIENT LOGIN=bob@example.com ADDR=10.0.0.1', 'XFORWARD ADDR=10.0.0.1', 'VRFY alice', 'WIZ pass', 'SHELL', 'KILL']) {
      expect(await talk.cmd(line)).toMatch(/^500 /);
    }
    talk.destroy();
    const web = await SmtpTalk.connect(port);
    await web.read();
    expect(await web.cmd('POST / HTTP/1.1')).toMatch(/^421 /);
  });

  it('TLS 1.1 is refused on the implicit TLS port', async () => {
    const socket = tls.connect({ port: tlsPort, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
    const outcome = await new Promise<string>((resolve) => {
      socket.once('secureConnect', () => resolve('connected'));
      socket.once('error', () => resolve('refused'));
    });
    socket.destroy();
    expect(outcome).toBe('refused');
    await stillServing();
  });
});
