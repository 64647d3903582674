import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPSTREAM_CAPABILITIES } from '../helpers/fake-imap-upstream.js';
import { RawImap } from '../helpers/imap-raw-client.js';
import { rawLogin, startImapEnv, type ImapEnv } from '../helpers/imap-env.js';
import { cutsSince, waitFor } from '../helpers/session-cuts.js';

const ADDRESS = 'alice@example.com';
/** A chosen password with the characters quoted strings must escape. */
const QUOTY = 'Quote"And\\Backslash pass';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('IMAP front: logins through to the upstream', () => {
  let env: ImapEnv;

  beforeAll(async () => {
    env = await startImapEnv({ devices: { phone: undefined, laptop: undefined, tablet: QUOTY } });
  });
  afterAll(async () => {
    await env?.stop();
  });

  const client = (options: Partial<ImapFlowOptions> & { pass?: string; method?: string }) =>
    new ImapFlow({
      host: '127.0.0.1',
      port: env.plainPort,
      secure: false,
      logger: false,
      tls: { rejectUnauthorized: false },
      ...options,
      auth: { user: ADDRESS, pass: options.pass ?? env.devices.phone!.password, ...(options.method ? { loginMethod: options.method } : {}) },
    });

  it('imapflow logs in with AUTHENTICATE PLAIN after STARTTLS and sees the upstream capabilities', async () => {
    const c = client({ doSTARTTLS: true, clientInfo: { name: 'vitest-client', version: '1.2' } });
    await c.connect();
    try {
      expect(c.secureConnection).toBe(true);
      expect([...c.capabilities.keys()]).toEqual(UPSTREAM_CAPABILITIES);
      const mailbox = await c.mailboxOpen('INBOX');
      expect(mailbox.exists).toBe(0);
      const live = env.daemon.registry.list(ADDRESS).filter((s) => s.clientName === 'vitest-client 1.2');
      expect(live).toHaveLength(1);
      expect(live[0]).toMatchObject({ protocol: 'imap', deviceName: 'phone', clientIp: '127.0.0.1' });
      const up = env.upstream.loggedIn(ADDRESS).at(-1)!;
      expect(up.id).toMatchObject({ 'x-originating-ip': '127.0.0.1', name: 'vitest-client', version: '1.2' });
    } finally {
      await c.logout();
    }
    // the session is unregistered once it ends
    await waitFor(() => env.daemon.registry.list(ADDRESS).every((s) => s.clientName !== 'vitest-client 1.2'));
  });

  it('imapflow logs in with loginMethod LOGIN over implicit TLS', async () => {
    const c = client({ port: env.tlsPort, secure: true, method: 'LOGIN', pass: env.devices.laptop!.password });
    await c.connect();
    try {
      expect((await c.mailboxOpen('INBOX')).path).toBe('INBOX');
      expect(env.daemon.registry.list(ADDRESS).some((s) => s.deviceName === 'laptop')).toBe(true);
    } finally {
      await c.logout();
    }
  });

  it('a wrong password is refused with AUTHENTICATIONFAILED and nothing reaches the upstream', async () => {
    const before = env.upstream.sessions.length;
    const c = client({ pass: 'wrong password entirely', doSTARTTLS: true });
    const err = (await c.connect().catch((e: unknown) => e)) as { authenticationFailed?: boolean; serverResponseCode?: string };
    expect(err.authenticationFailed).toBe(true);
    expect(err.serverResponseCode).toBe('AUTHENTICATIONFAILED');
    expect(env.upstream.sessions.length).toBe(before);
    c.close();
  });

  it('revoking a device sends * BYE within 100 ms to its sessions, in IDLE too, and leaves other devices connected', async () => {
    const flow = client({ port: env.tlsPort, secure: true });
    await flow.connect();
    await flow.mailboxOpen('INBOX');
    const flowClosed = new Promise<number>((resolve) => flow.once('close', () => resolve(performance.now())));
    const flowIdle = flow.idle().catch(() => undefined);
    const idle = await rawLogin(env, env.devices.phone!.password);
    const busy = await rawLogin(env, env.devices.phone!.password);
    const other = await rawLogin(env, env.devices.laptop!.password);
    idle.send('i1 IDLE\r\n');
    await idle.next(/^\+ idling/);
    await waitFor(() => flow.idling);
    const upstreamPhone = env.upstream.loggedIn(ADDRESS).slice(-4, -1);
    expect(upstreamPhone).toHaveLength(3);
    const started = performance.now();
    const revoked = await env.daemon.admin.revokeDevice(ADDRESS, env.devices.phone!.id, 'test');
    expect(revoked.sessionsClosed).toBe(3);
    for (const { line, ms } of await cutsSince([idle, busy], /^\* BYE/, started)) {
      expect(line).toBe('* BYE Session revoked by administrator');
      expect(ms).toBeLessThan(100);
    }
    // imapflow, idling, sees the BYE and closes too
    expect((await flowClosed) - started).toBeLessThan(100);
    await flowIdle;
    await Promise.all(upstreamPhone.map((s) => s.closed));
    // the laptop's session is untouched and still proxied
    expect(other.isClosed).toBe(false);
    expect(await other.command('n1', 'NOOP')).toEqual(['n1 OK NOOP completed']);
    expect(env.daemon.registry.list(ADDRESS).map((s) => s.deviceName)).not.toContain('phone');
    other.destroy();
  });

  describe('transcripts of real clients', () => {
    it('Apple Mail: CAPABILITY, ID with escaped quotes, STARTTLS, AUTHENTICATE PLAIN with SASL-IR', async () => {
      const c = await RawImap.connect(env.plainPort);
      expect(await c.next(/^\* OK/)).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 LITERAL- SASL-IR ID STARTTLS AUTH=PLAIN AUTH=LOGIN\] devicepass ready$/);
      expect(await c.command('1', 'CAPABILITY')).toEqual(['* CAPABILITY IMAP4rev1 LITERAL- SASL-IR ID STARTTLS AUTH=PLAIN AUTH=LOGIN', '1 OK Capability completed']);
      expect(await c.command('2', 'STARTTLS')).toEqual(['2 OK Begin TLS negotiation now']);
      await c.upgrade();
      expect(await c.command('3', 'CAPABILITY')).toEqual(['* CAPABILITY IMAP4rev1 LITERAL- SASL-IR ID AUTH=PLAIN AUTH=LOGIN', '3 OK Capability completed']);
      const id = await c.command('4', 'ID ("name" "Mac OS X Mail" "version" "16.0 (3774.600.62)" "os" "macOS" "os-version" "14.5 (23F79)" "vendor" "Apple \\"Inc.\\"")');
      expect(id[0]).toMatch(/^\* ID \("name" "devicepass" "version" "[^"]+"\)$/);
      expect(id[1]).toBe('4 OK ID completed');
      const ok = await c.command('5', `AUTHENTICATE PLAIN ${b64(`\0${ADDRESS}\0${env.devices.laptop!.password}`)}`);
      expect(ok).toEqual([`5 OK [CAPABILITY ${UPSTREAM_CAPABILITIES.join(' ')}] Logged in`]);
      expect(env.upstream.loggedIn(ADDRESS).at(-1)!.id).toMatchObject({ vendor: 'Apple "Inc."' });
      expect(env.daemon.registry.list(ADDRESS).some((s) => s.clientName === 'Mac OS X Mail 16.0 (3774.600.62)')).toBe(true);
      expect(await c.command('6', 'X-WHOAMI')).toEqual([`* X-WHOAMI "${ADDRESS}"`, '6 OK done']);
      c.destroy();
    });

    it('Outlook: implicit TLS, AUTHENTICATE PLAIN answered on the continuation line', async () => {
      const c = await RawImap.connect(env.tlsPort, { tls: true });
      expect(await c.next(/^\* OK/)).toContain('AUTH=PLAIN');
      expect(await c.command('A01', 'CAPABILITY')).not.toContain('STARTTLS');
      c.send('A02 AUTHENTICATE PLAIN\r\n');
      expect(await c.next(/^\+/)).toBe('+ ');
      c.send(`${b64(`${ADDRESS}\0${ADDRESS}\0${env.devices.laptop!.password}`)}\r\n`);
      expect(await c.next(/^A02 /)).toMatch(/^A02 OK \[CAPABILITY .*\] Logged in$/);
      expect(await c.command('A03', 'SELECT INBOX')).toEqual(['* 0 EXISTS', 'A03 OK [READ-WRITE] SELECT completed']);
      c.destroy();
    });

    it('Thunderbird: STARTTLS first, ID, then LOGIN with quoted strings holding escapes', async () => {
      const c = await RawImap.connect(env.plainPort);
      await c.next(/^\* OK/);
      expect(await c.command('1', 'STARTTLS')).toEqual(['1 OK Begin TLS negotiation now']);
      await c.upgrade();
      await c.command('2', 'capability');
      await c.command('3', 'ID ("name" "Thunderbird" "version" "128.3.0")');
      const quoted = QUOTY.replace(/[\\"]/g, (ch) => `\\${ch}`);
      expect(await c.command('4', `login "${ADDRESS}" "${quoted}"`)).toEqual([`4 OK [CAPABILITY ${UPSTREAM_CAPABILITIES.join(' ')}] Logged in`]);
      expect(env.daemon.registry.list(ADDRESS).some((s) => s.deviceName === 'tablet' && s.clientName === 'Thunderbird 128.3.0')).toBe(true);
      c.destroy();
    });

    it('a synchronizing literal gets "+", a LITERAL- literal needs none, and AUTHENTICATE LOGIN prompts for both halves', async () => {
      const c = await RawImap.connect(env.tlsPort, { tls: true });
      await c.next(/^\* OK/);
      const password = Buffer.from(QUOTY, 'utf8');
      c.send(`a LOGIN {${ADDRESS.length}}\r\n`);
      expect(await c.next(/^\+/)).toBe('+ Ready for literal data');
      c.send(`${ADDRESS} {${password.length}+}\r\n`);
      c.send(Buffer.concat([password, Buffer.from('\r\n')]));
      expect(await c.next(/^a /)).toMatch(/^a OK \[CAPABILITY/);
      c.destroy();

      const d = await RawImap.connect(env.tlsPort, { tls: true });
      await d.next(/^\* OK/);
      d.send(`b AUTHENTICATE LOGIN\r\n`);
      expect(await d.next(/^\+/)).toBe('+ VXNlcm5hbWU6');
      d.send(`${b64(ADDRESS)}\r\n`);
      expect(await d.next(/^\+/)).toBe('+ UGFzc3dvcmQ6');
      d.send(`${b64(QUOTY)}\r\n`);
      expect(await d.next(/^b /)).toMatch(/^b OK \[CAPABILITY/);
      d.destroy();
    });

    it('commands pipelined behind LOGIN reach the upstream', async () => {
      const c = await RawImap.connect(env.tlsPort, { tls: true });
      await c.next(/^\* OK/);
      c.send(`a LOGIN ${ADDRESS} "${env.devices.laptop!.password}"\r\nb X-WHOAMI\r\n`);
      expect(await c.next(/^a /)).toMatch(/^a OK/);
      expect(await c.next(/^b /)).toBe('b OK done');
      c.destroy();
    });
  });

  describe('refusals', () => {
    it('SASL cancel, bad base64 and a foreign authzid are refused; the connection stays usable', async () => {
      const c = await RawImap.connect(env.tlsPort, { tls: true });
      await c.next(/^\* OK/);
      c.send('a AUTHENTICATE PLAIN\r\n');
      await c.next(/^\+/);
      c.send('*\r\n');
      expect(await c.next(/^a /)).toBe('a BAD Authentication canceled');
      expect(await c.command('b', 'AUTHENTICATE PLAIN not*base64')).toEqual(['b BAD Invalid base64']);
      expect(await c.command('c', 'AUTHENTICATE PLAIN bm90IGJhc2U2NA=')).toEqual(['c BAD Invalid base64']);
      expect(await c.command('d', `AUTHENTICATE PLAIN ${b64(`bob@example.com\0${ADDRESS}\0x`)}`)).toEqual([
        'd NO [AUTHORIZATIONFAILED] Authorization identity differs from the login',
      ]);
      expect(await c.command('e', 'AUTHENTICATE CRAM-MD5')).toEqual(['e NO [CANNOT] Unsupported authentication mechanism']);
      expect(await c.command('f', 'SELECT INBOX')).toEqual(['f BAD Unknown command or not valid before login']);
      expect(await c.command('g', 'NOOP')).toEqual(['g OK NOOP completed']);
      c.destroy();
    });

    it('STARTTLS with plaintext pipelined behind it is refused (command injection)', async () => {
      const c = await RawImap.connect(env.plainPort);
      await c.next(/^\* OK/);
      c.send('a STARTTLS\r\nb CAPABILITY\r\n');
      expect(await c.next(/^a /)).toBe('a BAD STARTTLS must be the last command in a pipeline');
      expect(await c.next(/^b /)).toBe('b OK Capability completed');
      expect(await c.command('c', 'STARTTLS')).toEqual(['c OK Begin TLS negotiation now']);
      await c.upgrade();
      expect(await c.command('d', 'STARTTLS')).toEqual(['d BAD TLS is already active']);
      c.destroy();
    });

    it('LOGOUT says BYE, then OK, then closes', async () => {
      const c = await RawImap.connect(env.plainPort);
      await c.next(/^\* OK/);
      expect(await c.command('z', 'LOGOUT')).toEqual(['* BYE devicepass logging out', 'z OK LOGOUT completed']);
      await c.waitClosed();
    });

    it('too many failed logins end the connection with BYE', async () => {
      const c = await RawImap.connect(env.plainPort);
      await c.next(/^\* OK/);
      for (const tag of ['a', 'b']) expect(await c.command(tag, `LOGIN ${ADDRESS} nope`)).toEqual([`${tag} NO [AUTHENTICATIONFAILED] Authentication failed`]);
      expect(await c.command('c', `LOGIN ${ADDRESS} nope`)).toEqual(['c NO [AUTHENTICATIONFAILED] Authentication failed']);
      expect(await c.next(/^\* BYE/)).toBe('* BYE Too many authentication failures');
      await c.waitClosed();
    });

    it('too many bad commands end the connection with BYE', async () => {
      const c = await RawImap.connect(env.plainPort);
      await c.next(/^\* OK/);
      for (let i = 0; i < 9; i++) expect((await c.command(`t${i}`, 'FROB'))[0]).toMatch(/ BAD /);
      c.send('t9 FROB\r\n');
      expect(await c.next(/^\* BYE/)).toBe('* BYE Too many invalid commands');
      await c.waitClosed();
    });

    it('a huge synchronizing literal gets BAD [TOOBIG] without waiting for it; a huge non-synchronizing one gets BYE', async () => {
      const c = await RawImap.connect(env.plainPort);
      await c.next(/^\* OK/);
      expect(await c.command('a', 'LOGIN {4000000000}')).toEqual(['a BAD [TOOBIG] Literal too large']);
      expect(await c.command('b', 'NOOP')).toEqual(['b OK NOOP completed']);
      c.send('c LOGIN {4000000000+}\r\n');
      expect(await c.next(/^\* BYE/)).toBe('* BYE Too much invalid input');
      await c.waitClosed();
    });
  });
});

describe('IMAP front: an upstream that cannot be reached', () => {
  let env: ImapEnv;
  beforeAll(async () => {
    env = await startImapEnv({ deadUpstream: true });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('answers NO [UNAVAILABLE], keeps the connection usable and registers nothing', async () => {
    const c = await RawImap.connect(env.plainPort);
    await c.next(/^\* OK/);
    expect(await c.command('a', `LOGIN ${ADDRESS} "${env.devices.phone!.password}"`)).toEqual([
      'a NO [UNAVAILABLE] Mail server temporarily unavailable, try again later',
    ]);
    expect(env.daemon.registry.size).toBe(0);
    expect(await c.command('b', 'NOOP')).toEqual(['b OK NOOP completed']);
    c.destroy();
  });
});
