import net, { type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { openUpstream, UpstreamError, type UpstreamOptions } from '../../src/imap/proxy/upstream.js';

/**
 * openUpstream against scripted servers, for what a well-behaved Dovecot never
 * does: bytes right behind the OK, silence, garbage, BYE, no SASL-IR,
 * plaintext pushed behind a STARTTLS answer.
 */

type Script = (s: ScriptedPeer) => Promise<void>;

class ScriptedPeer {
  #buffer = '';
  #wake: (() => void) | null = null;
  readonly lines: string[] = [];
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buffer += d.toString('latin1');
      this.#wake?.();
    });
    socket.on('error', () => undefined);
  }
  send(text: string): void {
    this.socket.write(text);
  }
  /** The next line the client sent. */
  async line(): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        this.lines.push(line);
        return line;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
  /** Answers the next command with `answer(tag, line)`. */
  async answer(answer: (tag: string, line: string) => string): Promise<string> {
    const line = await this.line();
    this.send(answer(line.split(' ')[0]!, line));
    return line;
  }
}

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(script: Script): Promise<{ port: number; peers: ScriptedPeer[] }> {
  const peers: ScriptedPeer[] = [];
  const server = net.createServer((socket) => {
    const peer = new ScriptedPeer(socket);
    peers.push(peer);
    script(peer).catch(() => socket.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, peers };
}

const LOGIN = { address: 'alice@example.com', clientIp: '192.0.2.1', clientPort: 40000, localIp: '127.0.0.1', localPort: 1143, clientId: null, sessionId: 's1' };
const cfg = (port: number) => ({ host: '127.0.0.1', port, tls: 'none' as const, master_user: 'master', master_password: 'master-secret' });
const open = (port: number, options?: UpstreamOptions) => openUpstream(cfg(port), LOGIN, silentLogger, options);
const failure = (port: number, options?: UpstreamOptions) =>
  open(port, options).then(
    () => expect.fail('openUpstream succeeded'),
    (err: unknown) => {
      expect(err).toBeInstanceOf(UpstreamError);
      return err as UpstreamError;
    },
  );

/** Greets with SASL-IR, answers ID, and logs in with `ok` as the tagged OK line(s). */
const dovecotLike = (ok: (tag: string) => string): Script => async (p) => {
  p.send('* OK [CAPABILITY IMAP4rev1 SASL-IR ID AUTH=PLAIN] ready\r\n');
  await p.answer((tag) => `* ID NIL\r\n${tag} OK ID completed\r\n`);
  await p.answer(ok);
};

function firstBytes(socket: Socket): Promise<string> {
  return new Promise((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
}

describe('openUpstream against scripted servers', () => {
  it('hands back, unread, whatever the upstream sent right behind the tagged OK', async () => {
    const { port, peers } = await serve(dovecotLike((tag) => `${tag} OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n* 3 EXISTS\r\n* 1 RECENT\r\n`));
    const session = await open(port);
    expect(session.capabilities).toEqual(['IMAP4rev1', 'IDLE']);
    expect(await firstBytes(session.socket)).toBe('* 3 EXISTS\r\n* 1 RECENT\r\n');
    // one pipelined write: ID, then the SASL-IR login with authzid, authcid, password
    const [id, auth] = peers[0]!.lines;
    expect(id).toMatch(/^D3 ID \("x-originating-ip" "192\.0\.2\.1" "x-originating-port" "40000" .*"x-session-ext-id" "s1"\)$/);
    const payload = Buffer.from(auth!.split(' ')[3]!, 'base64').toString();
    expect(payload).toBe('alice@example.com\0master\0master-secret');
    session.socket.destroy();
  });

  it('uses the continuation without SASL-IR, and asks CAPABILITY when neither greeting nor OK carries it', async () => {
    const { port, peers } = await serve(async (p) => {
      p.send('* OK hello\r\n');
      await p.answer((tag) => `* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
      await p.answer((tag) => `${tag} OK ID done\r\n`);
      await p.answer(() => '+ \r\n');
      await p.answer(() => 'D4 OK Logged in\r\n');
      await p.answer((tag) => `* CAPABILITY IMAP4rev1 IDLE MOVE\r\n${tag} OK done\r\n* OK still here\r\n`);
    });
    const session = await open(port);
    expect(session.capabilities).toEqual(['IMAP4rev1', 'IDLE', 'MOVE']);
    expect(peers[0]!.lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['D2 CAPABILITY', 'D3 ID', 'D4 AUTHENTICATE', expect.any(String), 'D5 CAPABILITY']);
    expect(await firstBytes(session.socket)).toBe('* OK still here\r\n');
    session.socket.destroy();
  });

  it("reports 'refused' for NO, 'protocol' for BAD, with the upstream's words and never the password", async () => {
    const no = await serve(dovecotLike((tag) => `${tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`));
    const refused = await failure(no.port);
    expect(refused.reason).toBe('refused');
    expect(refused.message).toContain('AUTHENTICATIONFAILED');
    const bad = await serve(dovecotLike((tag) => `${tag} BAD what\r\n`));
    expect((await failure(bad.port)).reason).toBe('protocol');
    for (const err of [refused]) expect(err.message).not.toContain('master-secret');
  });

  it("times out with 'timeout' when the upstream never greets or never answers the login", async () => {
    const silent = await serve(() => new Promise(() => undefined));
    const started = Date.now();
    expect((await failure(silent.port, { timeouts: { stepMs: 200 } })).reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_000);
    const slowAuth = await serve(dovecotLike(() => ''));
    expect((await failure(slowAuth.port, { timeouts: { authMs: 200 } })).reason).toBe('timeout');
  });

  it("reports 'protocol' for garbage and oversized lines, 'unreachable' for BYE and a hang-up", async () => {
    const garbage = await serve(async (p) => p.send('HTTP/1.1 400 Bad Request\r\n\r\n'));
    expect((await failure(garbage.port)).reason).toBe('protocol');
    const endless = await serve(async (p) => p.send(`* OK ${'x'.repeat(100_000)}`));
    expect((await failure(endless.port)).reason).toBe('protocol');
    const bye = await serve(async (p) => p.send('* BYE Too many connections\r\n'));
    const byeErr = await failure(bye.port);
    expect(byeErr.reason).toBe('unreachable');
    expect(byeErr.message).toContain('Too many connections');
    const hangup = await serve(async (p) => {
      p.send('* OK [CAPABILITY IMAP4rev1 SASL-IR] hi\r\n');
      await p.line();
      p.socket.destroy();
    });
    expect((await failure(hangup.port)).reason).toBe('unreachable');
  });

  it('refuses to log in where the upstream says LOGINDISABLED, and without a master user', async () => {
    const disabled = await serve(async (p) => {
      p.send('* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS] hi\r\n');
      await p.answer((tag) => `${tag} OK ID\r\n`);
    });
    const err = await failure(disabled.port);
    expect(err.reason).toBe('refused');
    expect(err.message).toContain('LOGINDISABLED');
    const none = await openUpstream({ ...cfg(disabled.port), master_user: '' }, LOGIN, silentLogger).catch((e: UpstreamError) => e) as UpstreamError;
    expect(none.reason).toBe('refused');
  });

  it('rejects plaintext pushed behind the STARTTLS answer (command injection)', async () => {
    const { port } = await serve(async (p) => {
      p.send('* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n');
      await p.answer((tag) => `${tag} OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1 SASL-IR] injected\r\n`);
    });
    const err = await openUpstream({ ...cfg(port), tls: 'starttls' }, LOGIN, silentLogger).catch((e: UpstreamError) => e) as UpstreamError;
    expect(err.reason).toBe('protocol');
  });

  it("fails with 'tls' when STARTTLS is not offered", async () => {
    const { port } = await serve(async (p) => p.send('* OK [CAPABILITY IMAP4rev1 SASL-IR] hi\r\n'));
    const err = await openUpstream({ ...cfg(port), tls: 'starttls' }, LOGIN, silentLogger).catch((e: UpstreamError) => e) as UpstreamError;
    expect(err.reason).toBe('tls');
  });
});
