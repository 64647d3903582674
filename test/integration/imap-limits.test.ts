/**
 * The IMAP front's connection limits over real sockets: per client network
 * (after the PROXY header of a trusted proxy; IPv4 /32, IPv6 /64), in total,
 * before login, and the login deadline that no trickle of bytes extends.
 */
import { INETProtocol, Peer, V1ProxyProtocol } from 'proxy-protocol-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-raw-client.js';
import { startImapEnv, type ImapEnv } from '../helpers/imap-env.js';

const ADDRESS = 'alice@example.com';
const from = (src: string) => new V1ProxyProtocol(src.includes(':') ? INETProtocol.TCP6 : INETProtocol.TCP4, new Peer(src, 40000), new Peer(src.includes(':') ? '2001:db8::1' : '203.0.113.1', 143)).build();

const open: RawImap[] = [];
async function connect(env: ImapEnv, src: string, options: { tls?: boolean } = {}): Promise<RawImap> {
  const c = await RawImap.connect(options.tls ? env.tlsPort : env.plainPort, { preamble: from(src), ...options });
  open.push(c);
  return c;
}
const greeted = async (c: RawImap) => expect(await c.next(/^\* /)).toMatch(/^\* OK/);
async function refused(c: RawImap): Promise<void> {
  expect(await c.next(/^\* /)).toMatch(/^\* BYE \[UNAVAILABLE\] /);
  await c.waitClosed();
}
let current: ImapEnv | undefined;
afterEach(async () => {
  for (const c of open.splice(0)) c.destroy();
  // the server counts a connection out when it sees the close: wait for that, so tests do not share counts
  for (let i = 0; i < 100 && (current?.daemon.connections.stats().find((s) => s.front === 'imap')?.open ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 20));
});

describe('IMAP front: connection limits', () => {
  let env: ImapEnv;
  beforeAll(async () => {
    env = await startImapEnv({
      imap: {
        trusted_proxies: ['127.0.0.0/8'],
        max_connections: 5,
        max_connections_per_network: 3,
        max_unauthenticated: 5,
        max_unauthenticated_per_network: 2,
        login_timeout: '1500ms',
        idle_timeout: '10s',
      },
      auth: { trusted_networks: ['0.0.0.0/0', '::/0'] },
    });
    current = env;
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('per network: the third connection not logged in from one IPv4 address is refused, a logged-in one makes room', async () => {
    const first = await connect(env, '192.0.2.1');
    await greeted(first);
    await greeted(await connect(env, '192.0.2.1'));
    await refused(await connect(env, '192.0.2.1'));
    // another address is another network
    await greeted(await connect(env, '192.0.2.2'));
    // once logged in, a connection counts against the total per network (3), no longer against the 2 before login
    expect((await first.command('a', `LOGIN ${ADDRESS} "${env.devices.phone!.password}"`))[0]).toMatch(/^a OK/);
    await greeted(await connect(env, '192.0.2.1'));
    await refused(await connect(env, '192.0.2.1'));
  });

  it('per network: IPv6 addresses of one /64 count together, another /64 does not', async () => {
    await greeted(await connect(env, '2001:db8:1:2::5'));
    await greeted(await connect(env, '2001:db8:1:2:ffff::9'));
    await refused(await connect(env, '2001:db8:1:2::77'));
    await greeted(await connect(env, '2001:db8:1:3::5'));
  });

  it('in total: the sixth connection is refused whatever its network, on the TLS listener with a BYE inside TLS', async () => {
    for (const src of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5']) await greeted(await connect(env, src));
    await refused(await connect(env, '198.51.100.6', { tls: true }));
    // closing one makes room again
    open.shift()!.destroy();
    const deadline = Date.now() + 3000;
    for (;;) {
      const c = await connect(env, '198.51.100.7');
      if (/^\* OK/.test(await c.next(/^\* /))) break;
      if (Date.now() > deadline) throw new Error('the released connection was never counted out');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('cuts a client that sends one byte at a time at the login deadline, although it is never idle', async () => {
    const c = await connect(env, '203.0.113.50');
    await greeted(c);
    const command = 'a LOGIN someone something-long-enough-to-take-a-while\r\n';
    let sent = 0;
    const trickle = setInterval(() => c.send(command[sent++ % command.length]!), 100);
    try {
      expect(await c.next(/^\* BYE/, 5000)).toMatch(/^\* BYE /);
      await c.waitClosed();
    } finally {
      clearInterval(trickle);
    }
  });

  it('a session that logged in is not cut by the login deadline', async () => {
    const c = await connect(env, '203.0.113.60');
    await greeted(c);
    expect((await c.command('a', `LOGIN ${ADDRESS} "${env.devices.laptop!.password}"`))[0]).toMatch(/^a OK/);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await c.command('b', 'NOOP'))[0]).toMatch(/^b OK/);
  });

  it('counts every limit met, by limit (what /metrics reports)', () => {
    const imap = env.daemon.connections.stats().find((s) => s.front === 'imap')!;
    expect(imap.hits.get('unauthenticated_per_network')).toBeGreaterThanOrEqual(2);
    expect(imap.hits.get('connections_per_network')).toBeGreaterThanOrEqual(1);
    expect(imap.hits.get('connections')).toBeGreaterThanOrEqual(1);
    expect(imap.hits.get('login_timeout')).toBeGreaterThanOrEqual(1);
  });
});
