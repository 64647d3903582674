import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { openUpstream, UpstreamError, type UpstreamLogin } from '../../src/imap/proxy/upstream.js';
import { dovecotInstalled, startDovecot, type DovecotInstance } from './helpers/dovecot.js';
import { serversReady } from './helpers/require-servers.js';
import { ImapTalk } from './helpers/imap-talk.js';

const canRun = serversReady(dovecotInstalled() && process.getuid?.() === 0, 'Dovecot (as root)');

/** openUpstream against a real Dovecot from Debian, logging in through its master user. */
describe.skipIf(!canRun)('IMAP upstream session with a real Dovecot', () => {
  let dovecot: DovecotInstance;
  let serial = 0;

  const upstream = (over: Partial<{ port: number; tls: 'none' | 'starttls' | 'implicit'; master_password: string }> = {}) => ({
    host: dovecot.host,
    port: dovecot.port,
    tls: 'none' as const,
    master_user: dovecot.masterUser,
    master_password: dovecot.masterPassword,
    ...over,
  });
  const login = (over: Partial<UpstreamLogin> = {}): UpstreamLogin => ({
    address: 'alice@example.com',
    clientIp: '203.0.113.7',
    clientPort: 50_000 + ++serial,
    localIp: '127.0.0.1',
    localPort: 1143,
    clientId: null,
    sessionId: `dp-test-${serial}`,
    ...over,
  });

  beforeAll(async () => {
    dovecot = await startDovecot({ tls: true });
  });
  afterAll(async () => {
    await dovecot?.stop();
  });

  it('logs the master user in as the address and returns the post-login capabilities', async () => {
    const session = await openUpstream(upstream(), login(), silentLogger);
    try {
      expect(session.capabilities).toContain('IMAP4rev1');
      expect(session.capabilities).toContain('IDLE');
      // post-login: no more login mechanisms on offer
      expect(session.capabilities.some((c) => c.startsWith('AUTH='))).toBe(false);
      const talk = new ImapTalk(session.socket);
      await eventually(async () => (await dovecot.doveadm(['who', '-1'])).includes('alice@example.com'));
      await talk.command('L1', 'LOGOUT');
    } finally {
      session.socket.destroy();
    }
  });

  it('hands over a socket that SELECT, APPEND and FETCH work on, and nothing before it is lost', async () => {
    const session = await openUpstream(upstream(), login({ address: 'bob@example.com' }), silentLogger);
    const talk = new ImapTalk(session.socket);
    try {
      // the very first bytes after openUpstream must answer our first command
      const select = await talk.command('S1', 'SELECT INBOX');
      expect(talk.received.startsWith('* ')).toBe(true);
      expect(select.at(-1)).toMatch(/^S1 OK \[READ-WRITE\]/);
      const message = 'From: carol@example.com\r\nTo: bob@example.com\r\nSubject: via the master user\r\n\r\nhello bob\r\n';
      const append = await talk.command('S2', `APPEND INBOX {${Buffer.byteLength(message)}+}\r\n${message}`);
      expect(append.at(-1)).toMatch(/^S2 OK/);
      await talk.command('S3', 'NOOP');
      const fetch = await talk.command('S4', 'FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      expect(fetch.join('\n')).toContain('Subject: via the master user');
      expect(fetch.at(-1)).toMatch(/^S4 OK/);
      await talk.command('S5', 'LOGOUT');
      // the message is in bob's own Maildir: the session was really bob's
      const cur = path.join(dovecot.maildir('bob@example.com'), 'cur');
      const fresh = path.join(dovecot.maildir('bob@example.com'), 'new');
      const files = [cur, fresh].filter(existsSync).flatMap((d) => readdirSync(d));
      expect(files).toHaveLength(1);
    } finally {
      session.socket.destroy();
    }
  });

  it("passes the real client's address and session id by ID, and drops a client's own x- fields", async () => {
    const session = await openUpstream(
      upstream(),
      login({
        address: 'carol@example.com',
        clientIp: '::ffff:203.0.113.9',
        sessionId: 'dp-id-check',
        clientId: { name: 'Thunderbird', version: '128.5', 'x-originating-ip': '192.0.2.66' },
      }),
      silentLogger,
    );
    try {
      const text = await dovecot.waitForLog(/Login: user=<carol@example\.com>.*/);
      const line = text.split('\n').find((l) => l.includes('Login: user=<carol@example.com>'))!;
      expect(line).toContain('rip=203.0.113.9');
      expect(line).toContain('dp-id-check');
      expect(text).not.toContain('192.0.2.66');
      await dovecot.waitForLog(/ID sent: .*x-session-ext-id=dp-id-check, name=Thunderbird, version=128\.5:/);
      await eventually(async () => (await dovecot.doveadm(['who', '-1'])).includes('203.0.113.9'));
    } finally {
      session.socket.destroy();
    }
  });

  it("refuses with 'refused' when Dovecot turns the master password down", async () => {
    // its own client address: Dovecot's failure penalty is per (originating) IP
    const err = await openUpstream(upstream({ master_password: 'not-the-password' }), login({ clientIp: '198.51.100.23' }), silentLogger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).reason).toBe('refused');
    expect((err as UpstreamError).message).toContain('AUTHENTICATIONFAILED');
    expect((err as UpstreamError).message).not.toContain('not-the-password');
  });

  it("fails with 'unreachable' on a closed port", async () => {
    const port = await closedPort();
    const err = await openUpstream(upstream({ port }), login(), silentLogger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).reason).toBe('unreachable');
    expect((err as UpstreamError).message).toContain('ECONNREFUSED');
  });

  it('upgrades with STARTTLS, verifying the certificate against the given CA', async () => {
    const session = await openUpstream(upstream({ tls: 'starttls' }), login({ address: 'dave@example.com' }), silentLogger, { ca: dovecot.ca! });
    try {
      expect('encrypted' in session.socket && session.socket.encrypted).toBe(true);
      const talk = new ImapTalk(session.socket);
      expect((await talk.command('T1', 'SELECT INBOX')).at(-1)).toMatch(/^T1 OK/);
    } finally {
      session.socket.destroy();
    }
  });

  it('speaks implicit TLS', async () => {
    const session = await openUpstream(upstream({ tls: 'implicit', port: dovecot.tlsPort! }), login({ address: 'erin@example.com' }), silentLogger, { ca: dovecot.ca! });
    try {
      const talk = new ImapTalk(session.socket);
      expect((await talk.command('T1', 'NOOP')).at(-1)).toMatch(/^T1 OK/);
    } finally {
      session.socket.destroy();
    }
  });

  it("fails with 'tls' when the upstream's self-signed certificate is not trusted", async () => {
    for (const over of [{ tls: 'starttls' as const }, { tls: 'implicit' as const, port: dovecot.tlsPort! }]) {
      const err = await openUpstream(upstream(over), login(), silentLogger).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamError);
      expect((err as UpstreamError).reason).toBe('tls');
    }
  });
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Dovecot registers a session with its anvil a moment after the login answer. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
