/**
 * An in-process daemon with only the POP3 front on ephemeral loopback ports,
 * in front of a FakePop3Upstream, with one address and its devices.
 */
import net from 'node:net';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { Logger } from '../../src/log/logger.js';
import { tempDir, testConfig } from './env.js';
import { FakePop3Upstream, type FakePop3Options, type FakePop3Session } from './fake-pop3-upstream.js';
import { RawImap as RawLines } from './imap-raw-client.js';

export const POP3_MASTER = { user: 'pop-master', password: 'pop-master-secret' };

export interface Pop3Env {
  daemon: Daemon;
  upstream: FakePop3Upstream;
  plainPort: number;
  tlsPort: number;
  /** The HTTP surface's port, when asked for (options.http). */
  httpPort: number | null;
  /** Device name → { id, password }. */
  devices: Record<string, { id: string; password: string }>;
  stop(): Promise<void>;
}

export interface Pop3EnvOptions {
  pop3?: Record<string, unknown>;
  auth?: Record<string, unknown>;
  /** Device names with their chosen passwords and scopes (default: all three, since devices get imap,smtp unless told). */
  devices?: Record<string, { password?: string; scopes?: ('imap' | 'smtp' | 'pop3')[] }>;
  address?: string;
  upstream?: Partial<FakePop3Options>;
  /** Point [pop3.upstream] at a loopback port where nothing listens. */
  deadUpstream?: boolean;
  /** Also open the HTTP surface (/metrics, /healthz) on an ephemeral port: Pop3Env.httpPort. */
  http?: boolean;
  log?: Logger;
}

export async function startPop3Env(options: Pop3EnvOptions = {}): Promise<Pop3Env> {
  const { dir, cleanup } = tempDir('dpp');
  const upstream = new FakePop3Upstream({ masterUser: POP3_MASTER.user, masterPassword: POP3_MASTER.password, ...options.upstream });
  const upstreamPort = options.deadUpstream ? await closedPort() : await upstream.start();
  const daemon = await startDaemon(
    testConfig(dir, {
      pop3: {
        listen: ['127.0.0.1:0'],
        listen_tls: ['127.0.0.1:0'],
        upstream: { host: '127.0.0.1', port: upstreamPort, tls: 'none', master_user: POP3_MASTER.user, master_password: POP3_MASTER.password },
        ...options.pop3,
      },
      ...(options.auth ? { auth: options.auth } : {}),
      dovecot_auth: { listen: [] },
      ...(options.http ? { http: { listen: ['127.0.0.1:0'] } } : {}),
    }),
    ...(options.log ? [options.log] : []),
  );
  const address = options.address ?? 'alice@example.com';
  await daemon.admin.addAddress(address, 'test');
  const devices: Pop3Env['devices'] = {};
  for (const [name, spec] of Object.entries(options.devices ?? { phone: {}, laptop: {} })) {
    const made = await daemon.admin.addDevice(address, { name, scopes: ['imap', 'smtp', 'pop3'], ...spec }, 'test');
    devices[name] = { id: String(made.id), password: made.password };
  }
  const pop3 = daemon.surfaces.find((s) => s.name === 'pop3');
  if (!pop3) throw new Error('the POP3 front did not start');
  const portOf = (a: string) => Number(a.slice(a.lastIndexOf(':') + 1));
  const [plain, secure] = pop3.addresses().map(portOf);
  const http = daemon.surfaces.find((s) => s.name === 'http')?.addresses()[0];
  return {
    daemon,
    upstream,
    plainPort: plain!,
    tlsPort: secure!,
    httpPort: http === undefined ? null : portOf(http),
    devices,
    stop: async () => {
      await daemon.stop();
      if (!options.deadUpstream) await upstream.stop();
      cleanup();
    },
  };
}

/**
 * A raw client that sent AUTH PLAIN (with the initial response) over
 * implicit TLS, with the front's answer to it; the client is left open
 * whatever the answer, for the test to go on or destroy.
 */
export async function rawAuth(env: Pop3Env, password: string, address = 'alice@example.com'): Promise<{ client: RawLines; answer: string }> {
  const client = await RawLines.connect(env.tlsPort, { tls: true });
  await client.next(/^\+OK/);
  client.send(`AUTH PLAIN ${Buffer.from(`\0${address}\0${password}`, 'utf8').toString('base64')}\r\n`);
  return { client, answer: await client.next(/^[+-]/, 5_000) };
}

/** A raw client logged in over implicit TLS, with the upstream session it is proxied to; throws when refused. */
export async function rawLogin(env: Pop3Env, password: string, address = 'alice@example.com'): Promise<{ client: RawLines; upstream: FakePop3Session }> {
  const before = new Set(env.upstream.loggedIn(address));
  const { client, answer } = await rawAuth(env, password, address);
  const upstream = env.upstream.loggedIn(address).find((s) => !before.has(s));
  if (answer !== '+OK Logged in.' || !upstream) {
    client.destroy();
    throw new Error(`login refused: ${answer}`);
  }
  return { client, upstream };
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
