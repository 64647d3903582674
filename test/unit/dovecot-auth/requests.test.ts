import { describe, expect, it } from 'vitest';
import type { LoginAttempt, LoginResult } from '../../../src/auth/types.js';
import { ProtocolError } from '../../../src/dovecot-auth/codec.js';
import { RequestOrchestrator, UNKNOWN_CLIENT } from '../../../src/dovecot-auth/requests.js';
import { silentLogger } from '../../../src/log/logger.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const plain = (user: string, pass: string) => b64(`\0${user}\0${pass}`);

function ok(address: string): LoginResult {
  return { ok: true, address, deviceId: 1, deviceName: 'phone', generic: false, cached: false };
}
function fail(reason: 'wrong-password' | 'busy', temporary: boolean): LoginResult {
  return { ok: false, reason, temporary, address: null, deviceName: null, since: null, cached: false };
}

/** An orchestrator whose Authenticator answers when the test says so. */
function harness(peerIp: string | null = '198.51.100.9') {
  const sent: string[] = [];
  const attempts: LoginAttempt[] = [];
  const answers = new Map<string, (r: LoginResult) => void>();
  const requests = new RequestOrchestrator({
    log: silentLogger,
    peerIp,
    trusted: false,
    send: (text) => sent.push(text),
    maxPending: 3,
    authenticate: (attempt) => {
      attempts.push(attempt);
      return new Promise((resolve) => answers.set(attempt.address, resolve));
    },
  });
  const tick = () => new Promise((r) => setImmediate(r));
  return { requests, sent, attempts, answers, tick };
}

describe('RequestOrchestrator', () => {
  it('answers interleaved requests in the order their verdicts arrive', async () => {
    const h = harness();
    h.requests.handleLine('VERSION\t1\t0');
    h.requests.handleLine('CPID\t99');
    h.requests.handleLine(`AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.1\tresp=${plain('a@x.org', 'pa')}`);
    h.requests.handleLine(`AUTH\t2\tPLAIN\tservice=imap\tresp=${plain('b@x.org', 'pb')}`);
    await h.tick();
    expect(h.requests.pending).toBe(2);
    h.answers.get('b@x.org')!(ok('b@x.org'));
    await h.tick();
    h.answers.get('a@x.org')!(fail('wrong-password', false));
    await h.tick();
    expect(h.sent).toEqual(['OK\t2\tuser=b@x.org\n', 'FAIL\t1\tuser=a@x.org\treason=Authentication failed\n']);
    expect(h.attempts.map((a) => [a.protocol, a.clientIp, a.password])).toEqual([
      ['smtp', '192.0.2.1', 'pa'],
      ['imap', '198.51.100.9', 'pb'],
    ]);
    expect(h.requests.pending).toBe(0);
  });

  it('runs a LOGIN exchange over CONT rounds', async () => {
    const h = harness();
    h.requests.handleLine('VERSION\t1\t2');
    h.requests.handleLine('AUTH\t7\tLOGIN\tservice=submission');
    expect(h.sent.pop()).toBe(`CONT\t7\t${b64('Username:')}\n`);
    h.requests.handleLine(`CONT\t7\t${b64('c@x.org')}`);
    expect(h.sent.pop()).toBe(`CONT\t7\t${b64('Password:')}\n`);
    h.requests.handleLine(`CONT\t7\t${b64('pc')}`);
    await h.tick();
    h.answers.get('c@x.org')!(ok('c@x.org'));
    await h.tick();
    expect(h.sent).toEqual(['OK\t7\tuser=c@x.org\n']);
    expect(h.attempts[0]).toMatchObject({ protocol: 'smtp', password: 'pc' });
  });

  it('PLAIN without an initial response gets an empty CONT', async () => {
    const h = harness();
    h.requests.handleLine('VERSION\t1\t2');
    h.requests.handleLine('AUTH\t3\tPLAIN\tservice=imap');
    expect(h.sent).toEqual(['CONT\t3\t\n']);
    h.requests.handleLine(`CONT\t3\t${plain('d@x.org', 'pd')}`);
    await h.tick();
    expect(h.attempts).toHaveLength(1);
  });

  it('maps a temporary failure to code=temp_fail', async () => {
    const h = harness();
    h.requests.handleLine('VERSION\t1\t2');
    h.requests.handleLine(`AUTH\t1\tPLAIN\tservice=smtp\tresp=${plain('e@x.org', 'p')}`);
    await h.tick();
    h.answers.get('e@x.org')!(fail('busy', true));
    await h.tick();
    expect(h.sent).toEqual(['FAIL\t1\tuser=e@x.org\tcode=temp_fail\ttemp\treason=Temporary authentication failure\n']);
  });

  it('refuses without asking the Authenticator: unknown services, foreign authzid, bad payloads, unknown mechanisms', async () => {
    const h = harness();
    h.requests.handleLine('VERSION\t1\t2');
    h.requests.handleLine(`AUTH\t1\tPLAIN\tservice=sieve\tresp=${plain('f@x.org', 'p')}`);
    h.requests.handleLine(`AUTH\t2\tPLAIN\tservice=smtp\tresp=${b64('boss\0f@x.org\0p')}`);
    h.requests.handleLine('AUTH\t3\tPLAIN\tservice=smtp\tresp=%%%');
    h.requests.handleLine('AUTH\t4\tCRAM-MD5\tservice=smtp');
    await h.tick();
    expect(h.attempts).toHaveLength(0);
    expect(h.sent.map((l) => l.split('\t').slice(0, 2).join(' '))).toEqual(['FAIL 1', 'FAIL 2', 'FAIL 3', 'FAIL 4']);
  });

  it('answers a temporary FAIL beyond the per-connection cap of requests in flight', async () => {
    const h = harness();
    h.requests.handleLine('VERSION\t1\t2');
    for (let id = 1; id <= 4; id++) h.requests.handleLine(`AUTH\t${id}\tPLAIN\tservice=smtp\tresp=${plain(`u${id}@x.org`, 'p')}`);
    expect(h.sent).toEqual(['FAIL\t4\tcode=temp_fail\ttemp\treason=Temporary authentication failure\n']);
  });

  it('drops verdicts that arrive after the client went away', async () => {
    const h = harness();
    h.requests.handleLine('VERSION\t1\t2');
    h.requests.handleLine(`AUTH\t1\tPLAIN\tservice=smtp\tresp=${plain('g@x.org', 'p')}`);
    await h.tick();
    h.requests.close();
    h.answers.get('g@x.org')!(ok('g@x.org'));
    await h.tick();
    expect(h.sent).toEqual([]);
  });

  it('uses a placeholder, never "trusted", for a Unix client without rip', async () => {
    const h = harness(null);
    h.requests.handleLine('VERSION\t1\t2');
    h.requests.handleLine(`AUTH\t1\tPLAIN\tservice=smtp\trip=not-an-ip\tresp=${plain('h@x.org', 'p')}`);
    await h.tick();
    expect(h.attempts[0]?.clientIp).toBe(UNKNOWN_CLIENT);
  });

  it.each([
    ['AUTH before VERSION', ['AUTH\t1\tPLAIN\tservice=smtp']],
    ['another major version', ['VERSION\t2\t0']],
    ['an unknown command', ['VERSION\t1\t2', 'HELLO']],
    ['a duplicate id', ['VERSION\t1\t2', 'AUTH\t1\tLOGIN\tservice=smtp', 'AUTH\t1\tLOGIN\tservice=smtp']],
    ['CONT for an unknown id', ['VERSION\t1\t2', 'CONT\t9\tYQ==']],
    ['AUTH without service', ['VERSION\t1\t2', 'AUTH\t1\tPLAIN']],
  ])('treats %s as a protocol error', (_name, lines) => {
    const h = harness();
    expect(() => {
      for (const line of lines) h.requests.handleLine(line);
    }).toThrow(ProtocolError);
  });
});
