/**
 * The POP3 front over real sockets: a real client library (node-pop3) and
 * curl against the running front, byte-level transcripts of the logins real
 * clients make, and the proxy to a stand-in upstream.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Pop3Command from 'node-pop3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { cli } from '../helpers/env.js';
import { FAKE_MESSAGE } from '../helpers/fake-pop3-upstream.js';
import { RawImap as RawLines } from '../helpers/imap-raw-client.js';
import { POP3_MASTER, startPop3Env, type Pop3Env } from '../helpers/pop3-env.js';

const ADDRESS = 'alice@example.com';
const run = promisify(execFile);
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Sends one line and returns the next status line. */
async function say(c: RawLines, line: string): Promise<string> {
  c.send(`${line}\r\n`);
  return c.next(/^[+-]/);
}

/** Reads a multi-line answer's body up to ".". */
async function body(c: RawLines): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) {
    const line = await c.next(() => true);
    if (line === '.') return lines;
    lines.push(line);
  }
  throw new Error('no end of the multi-line answer');
}

function pop3(env: Pop3Env, password: string, user = ADDRESS) {
  return new Pop3Command({ host: '127.0.0.1', port: env.tlsPort, tls: true, user, password, tlsOptions: { rejectUnauthorized: false }, servername: 'localhost' });
}

describe('POP3 front, trusted loopback', () => {
  let env: Pop3Env;
  beforeAll(async () => {
    env = await startPop3Env({ devices: { phone: {}, laptop: {}, scanner: { scopes: ['smtp'] } } });
  });
  afterAll(async () => env?.stop());

  it('node-pop3 over implicit TLS: USER/PASS, then STAT, LIST, RETR, DELE and QUIT at the upstream as the address', async () => {
    const client = pop3(env, env.devices.phone!.password);
    expect(await client.STAT()).toBe(`1 ${Buffer.byteLength(FAKE_MESSAGE)}`);
    expect(await client.LIST()).toEqual([['1', String(Buffer.byteLength(FAKE_MESSAGE))]]);
    const message = await client.RETR(1);
    expect(message).toContain('Subject: hello');
    // relayed byte for byte: still dot-stuffed as the upstream sent it (node-pop3 does not unstuff)
    expect(message).toContain('\r\n..leading dot line\r\n');
    expect(await client.DELE(1)).toBe('Marked to be deleted.');
    await client.QUIT();
    const session = env.upstream.loggedIn(ADDRESS).at(-1)!;
    expect(session.commands).toEqual(['STAT', 'LIST', 'RETR 1', 'DELE 1', 'QUIT']);
  });

  it('node-pop3: AUTH PLAIN with an initial response', async () => {
    const client = pop3(env, 'unused');
    await client.connect();
    const [info] = await client.command('AUTH', 'PLAIN', b64(`\0${ADDRESS}\0${env.devices.laptop!.password}`));
    expect(info).toBe('Logged in.');
    expect(await client.command('X-WHOAMI')).toEqual([ADDRESS, null]);
    await client.QUIT();
  });

  it('node-pop3: a wrong password is refused with [AUTH] and nothing reaches the upstream', async () => {
    const before = env.upstream.sessions.length;
    const client = pop3(env, 'not the password at all');
    const err = (await client.STAT().catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('[AUTH] Authentication failed');
    expect(env.upstream.sessions.length).toBe(before);
    await client.QUIT().catch(() => undefined);
  });

  it('a device without the pop3 scope is refused like a wrong password', async () => {
    const c = await RawLines.connect(env.plainPort);
    await c.next(/^\+OK/);
    expect(await say(c, `AUTH PLAIN ${b64(`\0${ADDRESS}\0${env.devices.scanner!.password}`)}`)).toBe('-ERR [AUTH] Authentication failed');
    c.destroy();
  });

  it('curl retrieves a message with AUTH PLAIN, AUTH LOGIN and with and without the initial response', async () => {
    const password = env.devices.phone!.password;
    for (const options of [['--login-options', 'AUTH=PLAIN', '--sasl-ir'], ['--login-options', 'AUTH=PLAIN'], ['--login-options', 'AUTH=LOGIN']]) {
      const { stdout } = await run('curl', ['-s', '-S', '--max-time', '10', ...options, '-u', `${ADDRESS}:${password}`, `pop3://127.0.0.1:${env.plainPort}/1`]);
      expect(stdout).toBe(FAKE_MESSAGE);
    }
    const { stdout } = await run('curl', ['-s', '-S', '--max-time', '10', '-k', '-u', `${ADDRESS}:${password}`, `pop3s://127.0.0.1:${env.tlsPort}/1`]);
    expect(stdout).toBe(FAKE_MESSAGE);
  });

  it('CAPA lists USER and SASL where plaintext is allowed, STLS only before TLS', async () => {
    const c = await RawLines.connect(env.plainPort);
    expect(await c.next(/^\+OK/)).toBe('+OK devicepass ready.');
    expect(await say(c, 'CAPA')).toBe('+OK Capability list follows');
    expect(await body(c)).toEqual(['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'STLS', 'USER', 'SASL PLAIN LOGIN']);
    expect(await say(c, 'STLS')).toBe('+OK Begin TLS negotiation now');
    await c.upgrade();
    expect(await say(c, 'capa')).toBe('+OK Capability list follows');
    expect(await body(c)).toEqual(['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'USER', 'SASL PLAIN LOGIN']);
    expect(await say(c, 'STLS')).toBe('-ERR TLS is already active');
    c.destroy();
  });

  it('commands pipelined behind the login go to the upstream, in order', async () => {
    const c = await RawLines.connect(env.plainPort);
    await c.next(/^\+OK/);
    c.send(`USER ${ADDRESS}\r\nPASS ${env.devices.phone!.password}\r\nSTAT\r\nX-WHOAMI\r\n`);
    expect(await c.next(/^[+-]/)).toBe('+OK Send your password');
    expect(await c.next(/^[+-]/)).toBe('+OK Logged in.');
    expect(await c.next(/^[+-]/)).toMatch(/^\+OK \d+ \d+$/);
    expect(await c.next(/^[+-]/)).toBe(`+OK ${ADDRESS}`);
    c.destroy();
  });

  it('AUTH with "*" is canceled; AUTH without a mechanism lists them; an unknown mechanism is refused', async () => {
    const c = await RawLines.connect(env.plainPort);
    await c.next(/^\+OK/);
    expect(await say(c, 'AUTH PLAIN')).toBe('+ ');
    expect(await say(c, '*')).toBe('-ERR Authentication canceled');
    expect(await say(c, 'AUTH')).toBe('+OK Mechanisms follow');
    expect(await body(c)).toEqual(['PLAIN', 'LOGIN']);
    expect(await say(c, 'AUTH CRAM-MD5')).toBe('-ERR Unsupported authentication mechanism');
    expect(await say(c, 'AUTH PLAIN not-base64!')).toBe('-ERR Invalid base64');
    expect(await say(c, 'PASS some password')).toBe('-ERR Send USER first');
    expect(await say(c, 'NOOP')).toBe('+OK');
    expect(await say(c, 'QUIT')).toBe('+OK devicepass signing off');
    await c.waitClosed();
  });

  it('an authzid other than the login is refused', async () => {
    const c = await RawLines.connect(env.plainPort);
    await c.next(/^\+OK/);
    expect(await say(c, `AUTH PLAIN ${b64(`bob@example.com\0${ADDRESS}\0${env.devices.phone!.password}`)}`)).toBe('-ERR [AUTH] Authorization identity differs from the login');
    c.destroy();
  });

  it('three failed logins end the connection; so do ten bad commands', async () => {
    const c = await RawLines.connect(env.plainPort);
    await c.next(/^\+OK/);
    for (let i = 0; i < 2; i++) {
      expect(await say(c, `USER ${ADDRESS}`)).toBe('+OK Send your password');
      expect(await say(c, 'PASS wrong wrong wrong wrong')).toBe('-ERR [AUTH] Authentication failed');
    }
    await say(c, `USER ${ADDRESS}`);
    expect(await say(c, 'PASS wrong wrong wrong wrong')).toBe('-ERR [AUTH] Authentication failed');
    expect(await c.next(/^-ERR/)).toBe('-ERR [AUTH] Too many authentication failures');
    await c.waitClosed();

    const d = await RawLines.connect(env.plainPort);
    await d.next(/^\+OK/);
    for (let i = 0; i < 9; i++) expect(await say(d, `BOGUS${i}`)).toBe('-ERR Unknown command or not valid before login');
    expect(await say(d, 'RETR 1')).toBe('-ERR Unknown command or not valid before login');
    expect(await d.next(/^-ERR/)).toBe('-ERR Too many invalid commands');
    await d.waitClosed();
  });

  it('a line over the limit ends the connection without waiting for its end', async () => {
    const c = await RawLines.connect(env.plainPort);
    await c.next(/^\+OK/);
    c.send(`USER ${'x'.repeat(5000)}`);
    expect(await c.next(/^-ERR/)).toBe('-ERR Line too long');
    await c.waitClosed();
  });

  it('a command line over 255 octets (RFC 2449 §4) is refused with -ERR and the connection goes on; PASS, an AUTH initial response and a SASL answer may be longer', async () => {
    const c = await RawLines.connect(env.plainPort);
    await c.next(/^\+OK/);
    // 255 octets with the CRLF: accepted
    expect(await say(c, `USER ${'a'.repeat(248)}`)).toBe('+OK Send your password');
    // USER carries an address, which may be 254 octets: exempt, as PASS and AUTH are
    expect(await say(c, `USER ${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`)).toBe('+OK Send your password');
    expect(await say(c, `CAPA ${'x'.repeat(249)}`)).toBe('-ERR Command line too long (255 octets at most)');
    expect(await say(c, `${'X'.repeat(1000)}`)).toBe('-ERR Command line too long (255 octets at most)');
    expect(await say(c, 'NOOP')).toBe('+OK');

    // a long chosen password: the PASS line, the AUTH PLAIN line and the AUTH LOGIN answer carrying it are well over 255 octets
    const long = 'long chosen password '.repeat(15);
    const device = await env.daemon.admin.addDevice(ADDRESS, { name: 'long', scopes: ['pop3'], password: long }, 'test');
    const viaPass = await RawLines.connect(env.plainPort);
    await viaPass.next(/^\+OK/);
    expect(await say(viaPass, `USER ${ADDRESS}`)).toBe('+OK Send your password');
    expect(`PASS ${device.password}`.length).toBeGreaterThan(300);
    expect(await say(viaPass, `PASS ${device.password}`)).toBe('+OK Logged in.');
    viaPass.destroy();
    const plain = `AUTH PLAIN ${b64(`\0${ADDRESS}\0${device.password}`)}`;
    expect(plain.length).toBeGreaterThan(400);
    expect(await say(c, plain)).toBe('+OK Logged in.');
    c.destroy();
    const d = await RawLines.connect(env.plainPort);
    await d.next(/^\+OK/);
    expect(await say(d, `AUTH LOGIN ${b64(ADDRESS)}`)).toBe(`+ ${b64('Password:')}`);
    expect(await say(d, b64(device.password))).toBe('+OK Logged in.');
    d.destroy();
    await env.daemon.admin.revokeDevice(ADDRESS, device.id, 'test');
  });

  it('plaintext pipelined behind STLS is never read as if it came over TLS: the connection closes', async () => {
    const c = await RawLines.connect(env.plainPort);
    await c.next(/^\+OK/);
    c.send(`STLS\r\nUSER ${ADDRESS}\r\n`);
    await c.waitClosed();
    expect(c.lines).toEqual(['+OK devicepass ready.', '+OK Begin TLS negotiation now']);
  });

  it('a PROXY header from a peer that is not a trusted proxy closes the connection', async () => {
    const c = await RawLines.connect(env.plainPort, { preamble: 'PROXY TCP4 192.0.2.1 127.0.0.1 5555 110\r\n' });
    await c.waitClosed();
    expect(c.lines).toEqual(['+OK devicepass ready.']);
  });

  it('revoking a device ends its POP3 sessions with [SYS/PERM] and leaves other devices connected; sessions lists them as pop3', async () => {
    const phone1 = pop3(env, env.devices.phone!.password);
    await phone1.STAT();
    const phone2 = await RawLines.connect(env.plainPort);
    await phone2.next(/^\+OK/);
    await say(phone2, `USER ${ADDRESS}`);
    expect(await say(phone2, `PASS ${env.devices.phone!.password}`)).toBe('+OK Logged in.');
    const laptop = await RawLines.connect(env.tlsPort, { tls: true });
    await laptop.next(/^\+OK/);
    expect(await say(laptop, `AUTH LOGIN ${b64(ADDRESS)}`)).toBe(`+ ${b64('Password:')}`);
    expect(await say(laptop, b64(env.devices.laptop!.password))).toBe('+OK Logged in.');

    const listed = env.daemon.registry.list(ADDRESS);
    expect(listed.filter((s) => s.protocol === 'pop3').map((s) => s.deviceName).sort()).toEqual(['laptop', 'phone', 'phone']);
    // and `devicepass sessions`, through the control socket, shows them
    const shown = await cli(['--socket', env.daemon.config.control.socket, '--json', 'sessions', ADDRESS]);
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as { protocol: string; deviceName: string }[]).map((s) => `${s.protocol} ${s.deviceName}`).sort()).toEqual(['pop3 laptop', 'pop3 phone', 'pop3 phone']);

    // node-pop3 reports an unsolicited -ERR as an 'error' event
    const phoneTold = new Promise<string>((resolve) => phone1.once('error', (err: Error) => resolve(err.message)));
    const revoked = await env.daemon.admin.revokeDevice(ADDRESS, env.devices.phone!.id, 'test');
    expect(revoked.sessionsClosed).toBe(2);
    expect(await phone2.next(/^-ERR/)).toBe('-ERR [SYS/PERM] Session revoked by administrator');
    await phone2.waitClosed(1000);
    expect(await phoneTold).toBe('[SYS/PERM] Session revoked by administrator');
    expect(laptop.isClosed).toBe(false);
    expect(await say(laptop, 'X-WHOAMI')).toBe(`+OK ${ADDRESS}`);
    expect(env.daemon.registry.list(ADDRESS).map((s) => s.deviceName)).toEqual(['laptop']);
    laptop.destroy();
  });

  it('resetting a device ends its POP3 session', async () => {
    const c = await RawLines.connect(env.tlsPort, { tls: true });
    await c.next(/^\+OK/);
    expect(await say(c, `AUTH PLAIN ${b64(`\0${ADDRESS}\0${env.devices.laptop!.password}`)}`)).toBe('+OK Logged in.');
    const reset = await env.daemon.admin.resetDevice(ADDRESS, env.devices.laptop!.id, undefined, 'test');
    expect(reset.sessionsClosed).toBe(1);
    expect(await c.next(/^-ERR/)).toBe('-ERR [SYS/PERM] Session revoked by administrator');
    await c.waitClosed(1000);
  });
});

describe('POP3 front, client outside trusted networks', () => {
  let env: Pop3Env;
  beforeAll(async () => {
    env = await startPop3Env({ auth: { trusted_networks: [] }, upstream: { xclient: true } });
  });
  afterAll(async () => env?.stop());

  it('before STLS: no USER or SASL in CAPA, and USER, PASS and AUTH are refused with [AUTH]', async () => {
    const c = await RawLines.connect(env.plainPort);
    await c.next(/^\+OK/);
    expect(await say(c, 'CAPA')).toBe('+OK Capability list follows');
    expect(await body(c)).toEqual(['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'STLS']);
    const refusal = '-ERR [AUTH] Plaintext authentication refused before TLS: use STLS or port 995 first';
    expect(await say(c, `USER ${ADDRESS}`)).toBe(refusal);
    expect(await say(c, `AUTH PLAIN ${b64(`\0${ADDRESS}\0${env.devices.phone!.password}`)}`)).toBe(refusal);
    expect(await say(c, 'AUTH')).toBe('+OK Mechanisms follow');
    expect(await body(c)).toEqual([]);
    c.destroy();
    expect(env.upstream.sessions).toHaveLength(0);
  });

  it('curl with --ssl-reqd does STLS, then logs in; the upstream gets XCLIENT with the client address', async () => {
    const { stdout } = await run('curl', ['-s', '-S', '--max-time', '10', '--ssl-reqd', '-k', '--login-options', 'AUTH=PLAIN', '-u', `${ADDRESS}:${env.devices.phone!.password}`, `pop3://127.0.0.1:${env.plainPort}/1`]);
    expect(stdout).toBe(FAKE_MESSAGE);
    const session = env.upstream.loggedIn(ADDRESS).at(-1)!;
    expect(session.xclient.ADDR).toBe('127.0.0.1');
    expect(Number(session.xclient.PORT)).toBeGreaterThan(0);
  });
});

describe('POP3 front, upstream trouble', () => {
  it('an unreachable upstream: -ERR [SYS/TEMP] and a log line naming the reason', async () => {
    const lines: string[] = [];
    const log = createLogger('info', { write: (l: string) => void lines.push(l) });
    const env = await startPop3Env({ deadUpstream: true, log, http: true });
    try {
      const c = await RawLines.connect(env.plainPort);
      await c.next(/^\+OK/);
      expect(await say(c, `AUTH PLAIN ${b64(`\0${ADDRESS}\0${env.devices.phone!.password}`)}`)).toBe('-ERR [SYS/TEMP] Mail server temporarily unavailable, try again later');
      c.destroy();
      const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'POP3 login succeeded but the upstream session could not be opened');
      expect(warning).toMatchObject({ reason: 'unreachable', address: ADDRESS });
      expect(env.daemon.registry.list(ADDRESS)).toEqual([]);
      // counted where an operator's alert looks, as IMAP's are
      const metrics = await (await fetch(`http://127.0.0.1:${env.httpPort}/metrics`)).text();
      expect(metrics).toContain('devicepass_upstream_errors_total{surface="pop3",reason="unreachable"} 1');
    } finally {
      await env.stop();
    }
  });

  it('an upstream offering XCLIENT but refusing it: -ERR [SYS/TEMP], and no session is kept', async () => {
    const env = await startPop3Env({ upstream: { xclient: true, refuseXclient: '-ERR Invalid parameters.' } });
    try {
      const c = await RawLines.connect(env.plainPort);
      await c.next(/^\+OK/);
      expect(await say(c, `AUTH PLAIN ${b64(`\0${ADDRESS}\0${env.devices.phone!.password}`)}`)).toBe('-ERR [SYS/TEMP] Mail server temporarily unavailable, try again later');
      c.destroy();
      expect(env.daemon.registry.list(ADDRESS)).toEqual([]);
      await Promise.all(env.upstream.sessions.map((s) => s.closed));
    } finally {
      await env.stop();
    }
  });

  it('an upstream refusing the master login: -ERR [SYS/TEMP], never [AUTH]', async () => {
    const env = await startPop3Env({ upstream: { refuseLogin: '-ERR [SYS/TEMP] Try again later' } });
    try {
      const c = await RawLines.connect(env.plainPort);
      await c.next(/^\+OK/);
      expect(await say(c, `USER ${ADDRESS}`)).toBe('+OK Send your password');
      expect(await say(c, `PASS ${env.devices.phone!.password}`)).toBe('-ERR [SYS/TEMP] Mail server temporarily unavailable, try again later');
      expect(await say(c, 'NOOP')).toBe('+OK');
      c.destroy();
    } finally {
      await env.stop();
    }
  });
});

/**
 * The upstream's RFC 2449 response codes to the master login: [IN-USE] and
 * [LOGIN-DELAY] are about the mailbox, so the client hears them; anything
 * else is the server's trouble ([SYS/TEMP] to the client), and a permanent
 * refusal means devicepass is misconfigured there: an error in the log.
 */
describe('POP3 front, the upstream refusing the master login', () => {
  /** One AUTH PLAIN against an upstream answering the master login with `refusal`: the answer, whether the connection is still usable, and the log. */
  async function refusedWith(refusal: string) {
    const lines: string[] = [];
    const log = createLogger('info', { write: (l: string) => void lines.push(l) });
    // a single counted failure would close the connection
    const env = await startPop3Env({ upstream: { refuseLogin: refusal }, pop3: { max_auth_failures: 1 }, log, http: true });
    try {
      const c = await RawLines.connect(env.plainPort);
      await c.next(/^\+OK/);
      const answer = await say(c, `AUTH PLAIN ${b64(`\0${ADDRESS}\0${env.devices.phone!.password}`)}`);
      const next = await say(c, 'NOOP');
      c.destroy();
      expect(env.daemon.registry.list(ADDRESS)).toEqual([]);
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.address === ADDRESS && typeof l.msg === 'string' && l.msg.startsWith('POP3 login'));
      const metrics = await (await fetch(`http://127.0.0.1:${env.httpPort}/metrics`)).text();
      const upstreamErrors = metrics.split('\n').filter((l) => l.startsWith('devicepass_upstream_errors_total{surface="pop3"'));
      return { answer, next, records, upstreamErrors };
    } finally {
      await env.stop();
    }
  }

  it.each([
    ['-ERR [IN-USE] Mailbox is locked by another POP3 session', '-ERR [IN-USE] Mailbox in use by another session, try again later'],
    ['-ERR [LOGIN-DELAY] Logged in too recently', '-ERR [LOGIN-DELAY] Logged in too recently, try again later'],
    ['-ERR [in-use] lower case', '-ERR [IN-USE] Mailbox in use by another session, try again later'],
  ])('%s: the client hears the code with its meaning, and it is no failed login', async (refusal, expected) => {
    const { answer, next, records, upstreamErrors } = await refusedWith(refusal);
    expect(answer).toBe(expected);
    expect(next).toBe('+OK');
    // nor an upstream error: an alert on those must not fire for a busy mailbox
    expect(upstreamErrors).toEqual([]);
    // about the mailbox, not a fault: an info line naming the code
    expect(records.map((r) => [r.level, r.code])).toEqual([[30, expected.slice(6, expected.indexOf(']'))]]);
  });

  it.each([
    ['-ERR [AUTH] Authentication failed.', 'AUTH'],
    ['-ERR [SYS/PERM] Master login not allowed', 'SYS/PERM'],
  ])('%s: [SYS/TEMP] to the client, and an error in the log (the master login is misconfigured)', async (refusal, code) => {
    const { answer, next, records, upstreamErrors } = await refusedWith(refusal);
    expect(answer).toBe('-ERR [SYS/TEMP] Mail server temporarily unavailable, try again later');
    expect(next).toBe('+OK');
    expect(upstreamErrors).toEqual(['devicepass_upstream_errors_total{surface="pop3",reason="refused"} 1']);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 50, reason: 'refused', code });
    // the upstream's words are in the line; the master password never is
    expect(JSON.stringify(records[0])).toContain(refusal.slice(5));
    expect(JSON.stringify(records[0])).not.toContain(POP3_MASTER.password);
  });

  it.each([['-ERR [SYS/TEMP] Try again later', 'SYS/TEMP'], ['-ERR Temporary failure', null]])('%s: [SYS/TEMP] to the client and a warning', async (refusal, code) => {
    const { answer, records } = await refusedWith(refusal);
    expect(answer).toBe('-ERR [SYS/TEMP] Mail server temporarily unavailable, try again later');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 40, reason: 'refused' });
    expect(records[0]!.code ?? null).toBe(code);
  });
});

describe('POP3 front deadlines', () => {
  it('a client that never completes a line is closed when idle, however many bytes it trickles', async () => {
    const env = await startPop3Env({ pop3: { idle_timeout: '300ms' } });
    try {
      const c = await RawLines.connect(env.plainPort);
      await c.next(/^\+OK/);
      const trickle = setInterval(() => c.send('N'), 50);
      try {
        expect(await c.next(/^-ERR/, 5000)).toBe('-ERR Disconnected for inactivity');
        await c.waitClosed();
      } finally {
        clearInterval(trickle);
      }
    } finally {
      await env.stop();
    }
  });

  it('a client that keeps sending commands without logging in is closed at the login deadline', async () => {
    const env = await startPop3Env({ pop3: { idle_timeout: '10s', login_timeout: '500ms', max_bad_commands: 1000 } });
    try {
      const c = await RawLines.connect(env.plainPort);
      await c.next(/^\+OK/);
      const busy = setInterval(() => c.send('NOOP\r\n'), 50);
      try {
        expect(await c.next(/^-ERR/, 5000)).toBe('-ERR Login took too long');
        await c.waitClosed();
      } finally {
        clearInterval(busy);
      }
    } finally {
      await env.stop();
    }
  });
});
