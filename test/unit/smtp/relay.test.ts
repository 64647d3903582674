import net from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Relay, type RelayConfig } from '../../../src/smtp/relay.js';
import { UpstreamClient } from '../../../src/smtp/upstream-client.js';

/**
 * A scripted upstream: `answer` maps each command line to the reply written
 * back (null: say nothing). Records every line, message bytes included.
 */
async function scripted(answer: (line: string, state: { inData: boolean }) => string | null, greeting = '220 mx ESMTP\r\n', closeInData = false) {
  const lines: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.write(greeting);
    const state = { inData: false };
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      let newline: number;
      while ((newline = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        lines.push(line);
        if (state.inData) {
          if (closeInData) {
            socket.destroy();
            return;
          }
          if (line === '.') {
            state.inData = false;
            const reply = answer('.', state);
            if (reply) socket.write(reply);
          }
          continue;
        }
        const reply = answer(line, state);
        if (line === 'DATA' && reply?.startsWith('354')) state.inData = true;
        if (reply) socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    lines,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

const EHLO = '250-mx\r\n250-8BITMIME\r\n250-SIZE 1000000\r\n250 XCLIENT NAME ADDR PROTO HELO LOGIN\r\n';
/** A well-behaved Postfix-like upstream. */
const postfixLike = (overrides: Record<string, string | null> = {}) => (line: string): string | null => {
  const verb = line.split(/[ :]/)[0]!.toUpperCase();
  if (verb in overrides) return overrides[verb]!;
  switch (verb) {
    case 'EHLO': return EHLO;
    case 'XCLIENT': return '220 mx ESMTP\r\n';
    case 'MAIL': case 'RCPT': case 'RSET': return '250 2.1.0 Ok\r\n';
    case 'DATA': return '354 End data with <CR><LF>.<CR><LF>\r\n';
    case '.': return '250 2.0.0 Ok: queued as ABC\r\n';
    case 'QUIT': return '221 2.0.0 Bye\r\n';
    default: return '502 5.5.2 Error: command not recognized\r\n';
  }
};

const identity = { address: 'alice@example.com', clientIp: '::ffff:192.0.2.9', clientName: 'laptop' };
const config = (port: number, extra: Partial<RelayConfig> = {}): RelayConfig => ({
  host: '127.0.0.1', port, tls: 'none', xclient: true, heloName: 'devicepass.test', replyTimeoutMs: 500, ...extra,
});

describe('Relay against scripted upstreams', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  async function upstream(...args: Parameters<typeof scripted>) {
    const s = await scripted(...args);
    cleanups.push(s.close);
    return s;
  }

  it('hands over with XCLIENT (xtext, IPv4 unmapped), EHLOs again as the client, and relays a dot-stuffed message', async () => {
    const up = await upstream(postfixLike());
    const { relay, verdict } = await Relay.open(config(up.port), { ...identity, address: 'a+b@example.com' });
    expect(verdict.code).toBe(250);
    expect(await relay!.mail('a+b@example.com', { BODY: '8BITMIME', SIZE: '42', SMTPUTF8: true })).toEqual({ code: 250, text: '2.1.0 Ok' });
    expect(await relay!.rcpt('x@bücher.example')).toMatchObject({ code: 250 });
    expect(await relay!.data(Readable.from([Buffer.from('Subject: s\r\n\r\n.hidden\nlast')]), () => false)).toEqual({ code: 250, text: '2.0.0 Ok: queued as ABC' });
    relay!.close();
    expect(up.lines.slice(0, 8)).toEqual([
      'EHLO devicepass.test',
      'XCLIENT LOGIN=a+2Bb@example.com ADDR=192.0.2.9 NAME=[UNAVAILABLE]',
      'EHLO laptop',
      // SMTPUTF8 was not offered upstream, so it is dropped and the domain goes as an A-label
      'MAIL FROM:<a+b@example.com> BODY=8BITMIME SIZE=42',
      'RCPT TO:<x@xn--bcher-kva.example>',
      'DATA',
      'Subject: s',
      '',
    ]);
    expect(up.lines.slice(8, 11)).toEqual(['..hidden', 'last', '.']);
  });

  it('resets an abandoned transaction before the next MAIL FROM', async () => {
    const up = await upstream(postfixLike());
    const { relay } = await Relay.open(config(up.port, { xclient: false }), identity);
    await relay!.mail('alice@example.com', false);
    await relay!.mail('alice@example.com', false);
    expect(up.lines.filter((l) => /^(MAIL|RSET)/.test(l))).toEqual(['MAIL FROM:<alice@example.com>', 'RSET', 'MAIL FROM:<alice@example.com>']);
    relay!.destroy();
  });

  it('passes refusals through with code and text, multi-line replies joined', async () => {
    const up = await upstream(postfixLike({ RCPT: '550-5.1.1 <x@example.net>: Recipient address rejected:\r\n550 5.1.1 User unknown\r\n', DATA: '554 5.5.1 Error: no valid recipients\r\n' }));
    const { relay } = await Relay.open(config(up.port), identity);
    await relay!.mail('alice@example.com', false);
    expect(await relay!.rcpt('x@example.net')).toEqual({ code: 550, text: '5.1.1 <x@example.net>: Recipient address rejected: 5.1.1 User unknown' });
    expect(await relay!.data(Readable.from([Buffer.from('x')]), () => false)).toEqual({ code: 554, text: '5.5.1 Error: no valid recipients' });
    expect(relay!.usable).toBe(true);
    relay!.destroy();
  });

  it.each([
    ['an upstream 421 (it would otherwise drop our client)', { MAIL: '421 4.3.2 Service shutting down\r\n' }, '451 4.4.1'],
    ['a garbage reply', { MAIL: 'HTTP/1.1 400 Bad Request\r\n' }, '451 4.4.1'],
    ['no reply in time', { MAIL: null }, '451 4.4.1'],
  ])('turns %s into 451 4.4.1 and marks the relay unusable', async (_name, overrides, expected) => {
    const up = await upstream(postfixLike(overrides));
    const { relay } = await Relay.open(config(up.port), identity);
    const verdict = await relay!.mail('alice@example.com', false);
    expect(`${verdict.code} ${verdict.text}`).toMatch(new RegExp(`^${expected}`));
    expect(relay!.usable).toBe(false);
  });

  it('refuses to relay when XCLIENT is not offered or not authorized (4.3.5), and when the upstream is down (4.4.1)', async () => {
    const plain = await upstream(postfixLike({ EHLO: '250-mx\r\n250 8BITMIME\r\n' }));
    expect((await Relay.open(config(plain.port), identity)).verdict).toMatchObject({ code: 451, text: expect.stringMatching(/^4\.3\.5/) });
    const denied = await upstream(postfixLike({ XCLIENT: '550 5.7.0 Error: insufficient authorization\r\n' }));
    expect((await Relay.open(config(denied.port), identity)).verdict).toMatchObject({ code: 451, text: expect.stringMatching(/^4\.3\.5/) });
    const busy = await upstream(postfixLike(), '554 5.3.2 No SMTP service here\r\n');
    expect((await Relay.open(config(busy.port), identity)).verdict).toEqual({ code: 554, text: '5.3.2 No SMTP service here' });
    await plain.close();
    expect((await Relay.open(config(plain.port), identity)).verdict).toMatchObject({ code: 451, text: expect.stringMatching(/^4\.4\.1/) });
  });

  it('never sends the final dot of an aborted message', async () => {
    const up = await upstream(postfixLike());
    const { relay } = await Relay.open(config(up.port), identity);
    await relay!.mail('alice@example.com', false);
    await relay!.rcpt('x@example.net');
    let revoked = false;
    async function* slowly() {
      yield Buffer.from('one\r\n');
      await new Promise((r) => setTimeout(r, 30));
      revoked = true;
      yield Buffer.from('two\r\n');
      await new Promise((r) => setTimeout(r, 30));
      yield Buffer.from('three\r\n');
    }
    const verdict = await relay!.data(Readable.from(slowly()), () => revoked);
    expect(verdict.code).toBe(451);
    await new Promise((r) => setTimeout(r, 50));
    expect(up.lines).toContain('one');
    expect(up.lines).not.toContain('.');
    expect(up.lines).not.toContain('three');
  });
});

describe('Relay when the upstream goes away in the middle of a message', () => {
  it('answers 451 and still reads the client’s message to its end', async () => {
    const up = await scripted(postfixLike(), '220 mx ESMTP\r\n', true);
    const { relay } = await Relay.open(config(up.port), identity);
    await relay!.mail('alice@example.com', false);
    await relay!.rcpt('x@example.net');
    let finished = false;
    async function* message() {
      for (let i = 0; i < 50; i++) {
        yield Buffer.from(`line ${i} ${'x'.repeat(2000)}\r\n`);
        await new Promise((r) => setTimeout(r, 2));
      }
      finished = true;
    }
    const verdict = await relay!.data(Readable.from(message()), () => false);
    expect(verdict).toMatchObject({ code: 451, text: expect.stringMatching(/^4\.4\.1/) });
    expect(finished).toBe(true);
    expect(relay!.usable).toBe(false);
    await up.close();
  });
});

describe('UpstreamClient', () => {
  it('refuses to write a command containing a line break', async () => {
    const up = await scripted(postfixLike());
    const client = await UpstreamClient.connect({ host: '127.0.0.1', port: up.port, tls: 'none', heloName: 'x' });
    await expect(client.command('MAIL FROM:<a@b>\r\nRCPT TO:<c@d>')).rejects.toThrow(/line break/);
    client.destroy();
    await up.close();
  });
});
