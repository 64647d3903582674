import { V1ProxyProtocol, V2ProxyProtocol, Command, TransportProtocol, IPv4ProxyAddress, IPv4Address, IPv6ProxyAddress, IPv6Address, INETProtocol, Peer } from 'proxy-protocol-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-raw-client.js';
import { startImapEnv, type ImapEnv } from '../helpers/imap-env.js';

const ADDRESS = 'alice@example.com';

const v1 = (src: string, dst = '203.0.113.1') =>
  new V1ProxyProtocol(src.includes(':') ? INETProtocol.TCP6 : INETProtocol.TCP4, new Peer(src, 40000), new Peer(dst, 143)).build();
const v2 = (src: number[], command = Command.PROXY) =>
  Buffer.from(
    new V2ProxyProtocol(
      command,
      TransportProtocol.STREAM,
      src.length === 4
        ? new IPv4ProxyAddress(IPv4Address.createFrom(src), 40001, IPv4Address.createFrom([203, 0, 113, 1]), 993)
        : new IPv6ProxyAddress(IPv6Address.createFrom(src), 40001, IPv6Address.createFrom(new Array<number>(16).fill(0)), 993),
    ).build(),
  );

describe('IMAP front: LOGINDISABLED outside trusted networks', () => {
  let env: ImapEnv;
  beforeAll(async () => {
    env = await startImapEnv({ auth: { trusted_networks: [] } });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('advertises LOGINDISABLED and no AUTH= before STARTTLS, refuses LOGIN and AUTHENTICATE, and allows both after TLS', async () => {
    const c = await RawImap.connect(env.plainPort);
    expect(await c.next(/^\* OK/)).toBe('* OK [CAPABILITY IMAP4rev1 LITERAL- SASL-IR ID STARTTLS LOGINDISABLED] devicepass ready');
    const password = env.devices.phone!.password;
    expect(await c.command('a', `LOGIN ${ADDRESS} "${password}"`)).toEqual(['a NO [PRIVACYREQUIRED] Plaintext login refused: use STARTTLS or port 993 first']);
    expect(await c.command('b', 'AUTHENTICATE PLAIN AGFAYgBj')).toEqual(['b NO [PRIVACYREQUIRED] Plaintext login refused: use STARTTLS or port 993 first']);
    expect(env.upstream.sessions).toHaveLength(0);
    await c.command('c', 'STARTTLS');
    await c.upgrade();
    expect(await c.command('d', 'CAPABILITY')).toEqual(['* CAPABILITY IMAP4rev1 LITERAL- SASL-IR ID AUTH=PLAIN AUTH=LOGIN', 'd OK Capability completed']);
    expect((await c.command('e', `LOGIN ${ADDRESS} "${password}"`))[0]).toMatch(/^e OK \[CAPABILITY/);
    c.destroy();
  });

  it('implicit TLS needs no STARTTLS', async () => {
    const c = await RawImap.connect(env.tlsPort, { tls: true });
    expect(await c.next(/^\* OK/)).toBe('* OK [CAPABILITY IMAP4rev1 LITERAL- SASL-IR ID AUTH=PLAIN AUTH=LOGIN] devicepass ready');
    c.destroy();
  });

  it('a PROXY header from a peer that is not a trusted proxy closes the connection', async () => {
    for (const header of [v1('192.0.2.7'), v2([192, 0, 2, 7])]) {
      const c = await RawImap.connect(env.plainPort, { preamble: header });
      await c.waitClosed();
      expect(c.lines.filter((l) => !l.startsWith('* OK '))).toEqual([]);
    }
  });
});

describe('IMAP front: PROXY protocol from a trusted proxy', () => {
  let env: ImapEnv;
  beforeAll(async () => {
    env = await startImapEnv({
      imap: { trusted_proxies: ['127.0.0.0/8'], idle_timeout: '1500ms' },
      auth: { trusted_networks: ['192.0.2.0/24', '2001:db8::/32'] },
    });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('v1: the PROXY source is the client for trust, the session registry and the upstream', async () => {
    const c = await RawImap.connect(env.plainPort, { preamble: v1('192.0.2.7') });
    expect(await c.next(/^\* OK/)).toContain('AUTH=PLAIN');
    expect((await c.command('a', `LOGIN ${ADDRESS} "${env.devices.phone!.password}"`))[0]).toMatch(/^a OK/);
    expect(env.daemon.registry.list(ADDRESS).map((s) => s.clientIp)).toContain('192.0.2.7');
    expect(env.upstream.loggedIn(ADDRESS).at(-1)!.id).toMatchObject({ 'x-originating-ip': '192.0.2.7', 'x-originating-port': '40000' });
    c.destroy();
  });

  it('v1 and v2: a source outside trusted networks sees LOGINDISABLED', async () => {
    for (const header of [v1('198.51.100.9'), v2([198, 51, 100, 9])]) {
      const c = await RawImap.connect(env.plainPort, { preamble: header });
      expect(await c.next(/^\* OK/)).toContain('LOGINDISABLED');
      c.destroy();
    }
  });

  it('v2 with an IPv6 source, in front of implicit TLS', async () => {
    const source = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 5];
    const c = await RawImap.connect(env.tlsPort, { preamble: v2(source), tls: true });
    await c.next(/^\* OK/);
    expect((await c.command('a', `LOGIN ${ADDRESS} "${env.devices.laptop!.password}"`))[0]).toMatch(/^a OK/);
    expect(env.daemon.registry.list(ADDRESS).map((s) => s.clientIp)).toContain('2001:db8::5');
    c.destroy();
  });

  it('v2 LOCAL (a health check) keeps the peer address', async () => {
    const c = await RawImap.connect(env.plainPort, { preamble: v2([192, 0, 2, 8], Command.LOCAL) });
    // 127.0.0.1 is not in this daemon's trusted networks
    expect(await c.next(/^\* OK/)).toContain('LOGINDISABLED');
    c.destroy();
  });

  it('a malformed header, or none at all, closes the connection without a greeting', async () => {
    for (const preamble of ['PROXY TCP4 not-an-ip 203.0.113.1 1 2\r\n', 'PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n', 'a CAPABILITY\r\n', `PROXY ${'x'.repeat(200)}`]) {
      const c = await RawImap.connect(env.plainPort, { preamble });
      await c.waitClosed();
      expect(c.lines).toEqual([]);
    }
    const silent = await RawImap.connect(env.plainPort);
    await silent.waitClosed(3000);
    expect(silent.lines).toEqual([]);
  });

  it('idle before login: BYE Autologout', async () => {
    const c = await RawImap.connect(env.plainPort, { preamble: v1('192.0.2.10') });
    await c.next(/^\* OK/);
    const started = Date.now();
    expect(await c.next(/^\* BYE/, 3000)).toBe('* BYE Autologout; idle too long');
    expect(Date.now() - started).toBeGreaterThan(1000);
    await c.waitClosed();
  });

  it('a client that never answers a SASL challenge or a literal go-ahead is logged out too', async () => {
    const stalls = ['a AUTHENTICATE PLAIN\r\n', 'a AUTHENTICATE LOGIN\r\n', 'a LOGIN {20}\r\n'];
    await Promise.all(stalls.map(async (stall) => {
      const c = await RawImap.connect(env.plainPort, { preamble: v1('192.0.2.11') });
      await c.next(/^\* OK/);
      c.send(stall);
      await c.next(/^\+/);
      expect(await c.next(/^\* BYE/, 3000)).toBe('* BYE Autologout; idle too long');
      await c.waitClosed();
    }));
  });
});

describe('IMAP front: daemon shutdown', () => {
  it('says BYE to clients before login and to proxied sessions, then closes them', async () => {
    const env = await startImapEnv();
    try {
      const fresh = await RawImap.connect(env.plainPort);
      await fresh.next(/^\* OK/);
      const proxied = await RawImap.connect(env.tlsPort, { tls: true });
      await proxied.next(/^\* OK/);
      expect((await proxied.command('a', `LOGIN ${ADDRESS} "${env.devices.phone!.password}"`))[0]).toMatch(/^a OK/);
      const upstream = env.upstream.loggedIn(ADDRESS)[0]!;
      await env.daemon.stop();
      for (const c of [fresh, proxied]) {
        expect(await c.next(/^\* BYE/)).toBe('* BYE [UNAVAILABLE] Server shutting down');
        await c.waitClosed(1000);
      }
      await upstream.closed;
      expect(env.daemon.registry.size).toBe(0);
    } finally {
      await env.stop();
    }
  });
});
