/**
 * Who is exempt from the failure delay and the lockout on the Dovecot SASL
 * service: decided by the listener a client connected through, never by the
 * rip= a SASL peer writes into its request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LoginAttempt } from '../../src/auth/types.js';
import { ConfigError } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { SaslClient } from '../../src/dovecot-auth/client.js';
import { tempDir, testConfig } from '../helpers/env.js';

const ALICE = 'alice@example.com';
const FAILURE_DELAY_MS = 250;

interface Env {
  daemon: Daemon;
  dir: string;
  attempts: LoginAttempt[];
  password: string;
  stop(): Promise<void>;
}

const envs: Env[] = [];
afterEach(async () => {
  for (const env of envs.splice(0)) await env.stop();
});

async function start(dovecotAuth: Record<string, unknown>): Promise<Env> {
  const tmp = tempDir();
  const daemon = await startDaemon(
    testConfig(tmp.dir, {
      auth: { failure_delay: `${FAILURE_DELAY_MS}ms`, failure_delay_max: `${FAILURE_DELAY_MS}ms` },
      dovecot_auth: dovecotAuth,
    }),
  );
  await daemon.admin.addAddress(ALICE, 'test');
  const { password } = await daemon.admin.addDevice(ALICE, { name: 'mailer', scopes: 'smtp' }, 'test');
  // what the front hands the Authenticator, seen on the way through
  const attempts: LoginAttempt[] = [];
  const authenticate = daemon.authenticator.authenticate.bind(daemon.authenticator);
  daemon.authenticator.authenticate = (attempt) => {
    attempts.push({ ...attempt });
    return authenticate(attempt);
  };
  const env: Env = { daemon, dir: tmp.dir, attempts, password, stop: async () => { await daemon.stop(); tmp.cleanup(); } };
  envs.push(env);
  return env;
}

const addressOf = (env: Env, suffix: string) => env.daemon.surfaces.find((s) => s.name === 'dovecot_auth')!.addresses().find((a) => a.endsWith(suffix))!;

async function timedGuess(client: SaslClient, i: number): Promise<{ ok: boolean; ms: number }> {
  const t0 = performance.now();
  const verdict = await client.plain({ user: ALICE, password: `wrong-guess-${i}-xxxxxxxx`, service: 'smtp', rip: '127.0.0.1' });
  return { ok: verdict.ok, ms: performance.now() - t0 };
}

describe('Dovecot SASL: trust comes from the listener, not from rip=', () => {
  it('30 guesses with rip=127.0.0.1 through a world-connectable socket are not exempt: each failure waits the delay', async () => {
    const env = await start({ listen: ['auth.sock'], mode: '0666' });
    const client = await SaslClient.connect(addressOf(env, 'auth.sock'));
    const guesses: { ok: boolean; ms: number }[] = [];
    for (let i = 0; i < 30; i++) guesses.push(await timedGuess(client, i));
    client.close();
    expect(guesses.every((g) => !g.ok)).toBe(true);
    expect(env.attempts).toHaveLength(30);
    for (const attempt of env.attempts) expect(attempt).toMatchObject({ clientIp: '127.0.0.1', trusted: false });
    // 127.0.0.1 is in [auth] trusted_networks, and still every failure answered no sooner than the delay
    for (const g of guesses) expect(g.ms).toBeGreaterThanOrEqual(FAILURE_DELAY_MS * 0.9);
  });

  it('a socket listed in trusted_sockets exempts its clients, whatever rip= says; the other socket does not', async () => {
    const env = await start({ listen: ['auth.sock', 'mta.sock'], mode: '0660', trusted_sockets: ['mta.sock'] });
    for (const [socket, trusted] of [['mta.sock', true], ['auth.sock', false]] as const) {
      const client = await SaslClient.connect(addressOf(env, socket));
      const verdict = await client.plain({ user: ALICE, password: 'not-the-password-xxxxx', service: 'smtp', rip: '203.0.113.9' });
      client.close();
      expect(verdict.ok).toBe(false);
      expect(env.attempts.at(-1)).toMatchObject({ clientIp: '203.0.113.9', trusted });
    }
  });

  it('TCP peers are exempt only when their own address is in trusted_peers', async () => {
    const env = await start({ listen: ['127.0.0.1:0'], trusted_peers: ['192.0.2.0/24'] });
    const client = await SaslClient.connect(addressOf(env, ''));
    const verdict = await client.plain({ user: ALICE, password: env.password, service: 'smtp', rip: '192.0.2.1' });
    client.close();
    expect(verdict.ok).toBe(true);
    // the peer is 127.0.0.1, not in trusted_peers; the rip= inside it is
    expect(env.attempts.at(-1)).toMatchObject({ clientIp: '192.0.2.1', trusted: false });

    const trusting = await start({ listen: ['127.0.0.1:0'], trusted_peers: ['127.0.0.1/32'] });
    const mta = await SaslClient.connect(addressOf(trusting, ''));
    await mta.plain({ user: ALICE, password: 'not-the-password-xxxxx', service: 'smtp', rip: '198.51.100.4' });
    mta.close();
    expect(trusting.attempts.at(-1)).toMatchObject({ clientIp: '198.51.100.4', trusted: true });
  });

  it('refuses a trusted socket anyone may connect to, one that is not listened on, and a TCP listener', () => {
    const tmp = tempDir();
    try {
      expect(() => testConfig(tmp.dir, { dovecot_auth: { listen: ['auth.sock'], mode: '0666', trusted_sockets: ['auth.sock'] } })).toThrow(/trusted_sockets.*0666/);
      expect(() => testConfig(tmp.dir, { dovecot_auth: { listen: ['auth.sock'], trusted_sockets: ['other.sock'] } })).toThrow(ConfigError);
      expect(() => testConfig(tmp.dir, { dovecot_auth: { listen: ['127.0.0.1:0'], trusted_sockets: ['127.0.0.1:0'] } })).toThrow(ConfigError);
    } finally {
      tmp.cleanup();
    }
  });
});
