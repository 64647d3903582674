/**
 * The SMTP submission front's connection limits over real sockets, with the
 * client address taken from a trusted proxy's PROXY header: per client
 * network, in total, before login, and the login deadline.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import { addAddressWithDevice } from '../helpers/daemon-env.js';
import { startSmtpEnv, type SmtpEnv } from '../helpers/smtp-env.js';
import { b64, SmtpTalk } from '../unit/smtp/helpers.js';

const ALICE = 'alice@example.com';

describe('SMTP submission: connection limits', () => {
  let env: SmtpEnv;
  let daemon: Daemon;
  let password: string;
  let port: number;
  const open: SmtpTalk[] = [];

  async function connect(src: string): Promise<{ talk: SmtpTalk; greeting: string }> {
    const talk = await SmtpTalk.connect(port);
    open.push(talk);
    talk.write(`PROXY TCP4 ${src} 127.0.0.1 40000 587\r\n`);
    return { talk, greeting: await talk.read() };
  }
  const refusedLine = /^421 4\.7\.0 Too many connections/;

  beforeAll(async () => {
    env = await startSmtpEnv({
      config: {
        auth: { trusted_networks: ['0.0.0.0/0'] },
        smtp: {
          listen_tls: [],
          trusted_proxies: ['127.0.0.1/32'],
          max_connections: 5,
          max_connections_per_network: 3,
          max_unauthenticated: 5,
          max_unauthenticated_per_network: 2,
          login_timeout: '1500ms',
        },
      },
    });
    ({ daemon, plainPort: port } = env);
    password = await addAddressWithDevice(daemon, ALICE, { name: 'phone', scopes: 'smtp' });
  });
  afterEach(async () => {
    for (const talk of open.splice(0)) talk.destroy();
    for (let i = 0; i < 100 && (daemon.connections.stats().find((s) => s.front === 'smtp')?.open ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(() => env?.stop());

  it('per network before login, then per network in all: 421 4.7.0 and a close', async () => {
    const first = await connect('192.0.2.1');
    expect(first.greeting).toMatch(/^220 /);
    expect((await connect('192.0.2.1')).greeting).toMatch(/^220 /);
    const third = await connect('192.0.2.1');
    expect(third.greeting).toMatch(refusedLine);
    await third.talk.closed;
    await first.talk.cmd('EHLO client');
    expect(await first.talk.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${password}`)}`)).toMatch(/^235/);
    expect((await connect('192.0.2.1')).greeting).toMatch(/^220 /);
    expect((await connect('192.0.2.1')).greeting).toMatch(refusedLine);
    expect((await connect('192.0.2.2')).greeting).toMatch(/^220 /);
  });

  it('in total: the sixth connection is refused', async () => {
    for (let i = 1; i <= 5; i++) expect((await connect(`198.51.100.${i}`)).greeting).toMatch(/^220 /);
    expect((await connect('198.51.100.6')).greeting).toMatch(refusedLine);
  });

  it('closes a connection that has not logged in by the login deadline, however busy it keeps', async () => {
    const { talk, greeting } = await connect('203.0.113.9');
    expect(greeting).toMatch(/^220 /);
    const noise = setInterval(() => talk.write('NOOP\r\n'), 200);
    try {
      let reply = '';
      for (let i = 0; i < 100 && !/^421 /.test(reply); i++) reply = await talk.read();
      expect(reply).toMatch(/^421 4\.7\.0 /);
      await talk.closed;
    } finally {
      clearInterval(noise);
    }
  });

  it('counts every limit met, by limit (what /metrics reports)', () => {
    const smtp = daemon.connections.stats().find((s) => s.front === 'smtp')!;
    expect(smtp.hits.get('unauthenticated_per_network')).toBeGreaterThanOrEqual(1);
    expect(smtp.hits.get('connections_per_network')).toBeGreaterThanOrEqual(1);
    expect(smtp.hits.get('connections')).toBeGreaterThanOrEqual(1);
    expect(smtp.hits.get('login_timeout')).toBeGreaterThanOrEqual(1);
  });
});
