import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import { addAddressWithDevice } from '../helpers/daemon-env.js';
import { startSmtpEnv, type SmtpEnv } from '../helpers/smtp-env.js';
import { b64, type FakeMta, SmtpTalk } from '../unit/smtp/helpers.js';

const ALICE = 'alice@example.com';

/**
 * PROXY protocol through smtp-server's own `useProxy`: version 1 only, and only
 * from `[smtp] trusted_proxies` (here 127.0.0.1). The proxied address is the
 * client for every decision: trusted network, throttle, XCLIENT ADDR.
 */
describe('SMTP behind a PROXY protocol load balancer', () => {
  let env: SmtpEnv;
  let daemon: Daemon;
  let mta: FakeMta;
  let password: string;
  let port: number;

  beforeAll(async () => {
    env = await startSmtpEnv({ config: { smtp: { listen_tls: [], trusted_proxies: ['127.0.0.1/32'] } } });
    ({ daemon, mta, plainPort: port } = env);
    password = await addAddressWithDevice(daemon, ALICE, { name: 'phone', scopes: 'smtp' });
  });
  afterAll(() => env?.stop());

  it('takes the client address from a trusted proxy’s v1 header', async () => {
    const talk = await SmtpTalk.connect(port);
    talk.write('PROXY TCP4 203.0.113.7 127.0.0.1 40000 587\r\n');
    expect(await talk.read()).toMatch(/^220 /);
    await talk.cmd('EHLO behind-proxy');
    // 203.0.113.7 is not a trusted network: no AUTH before TLS
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${password}`)}`)).toMatch(/^538 /);
    await talk.starttls();
    await talk.cmd('EHLO behind-proxy');
    expect(await talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${password}`)}`)).toMatch(/^235/);
    expect(daemon.registry.list(ALICE)[0]).toMatchObject({ clientIp: '203.0.113.7', protocol: 'smtp' });
    await talk.cmd(`MAIL FROM:<${ALICE}>`);
    await talk.cmd('RCPT TO:<x@example.net>');
    await talk.cmd('DATA');
    talk.write('Subject: proxied\r\n\r\nhi\r\n.\r\n');
    expect(await talk.read()).toMatch(/^250/);
    expect(mta.received.at(-1)).toMatchObject({ addr: '203.0.113.7', login: ALICE });
    talk.destroy();
  });

  it('refuses a PROXY v2 header (smtp-server reads v1 only) and a missing header', async () => {
    const v2 = net.connect(port, '127.0.0.1');
    v2.on('error', () => undefined);
    await once(v2, 'connect');
    v2.write(Buffer.from('0d0a0d0a000d0a515549540a', 'hex'));
    v2.write('garbage\r\n');
    const text = await new Promise<string>((resolve) => {
      let got = '';
      v2.on('data', (d: Buffer) => (got += d.toString()));
      v2.on('close', () => resolve(got));
    });
    expect(text).not.toMatch(/^220/);
  });

  it('does not take a PROXY header from a peer outside trusted_proxies', async () => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    // not expected from this peer: smtp-server greets it as a client, and the header line is just a bad command
    expect(got).toMatch(/^220 /);
    socket.write('PROXY TCP4 198.51.100.1 127.0.0.1 1 2\r\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toMatch(/\r\n500 /);
    socket.destroy();
  });
});
