/**
 * An in-process daemon with only the IMAP front on ephemeral loopback ports,
 * in front of a FakeImapUpstream, with one address and its devices.
 */
import net from 'node:net';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { Logger } from '../../src/log/logger.js';
import type { Scope } from '../../src/store/types.js';
import { tempDir, testConfig } from './env.js';
import { FakeImapUpstream } from './fake-imap-upstream.js';
import { RawImap } from './imap-raw-client.js';

export const MASTER = { user: 'proxy-master', password: 'master-secret' };

export interface ImapEnv {
  daemon: Daemon;
  upstream: FakeImapUpstream;
  plainPort: number;
  tlsPort: number;
  /** Device name → { id, password }. */
  devices: Record<string, { id: string; password: string }>;
  stop(): Promise<void>;
}

export interface ImapEnvOptions {
  imap?: Record<string, unknown>;
  auth?: Record<string, unknown>;
  /** [tls] cert/key files (default: the generated development certificate). */
  tls?: { cert: string; key: string };
  /** [hashing] overrides (default: the fast test parameters). */
  hashing?: Record<string, unknown>;
  /** Device names with their chosen passwords (undefined = generated). */
  devices?: Record<string, string | undefined>;
  /** Every device's scopes (default: a new device's, imap and smtp). */
  scopes?: Scope[];
  address?: string;
  /** Point [imap.upstream] at a loopback port where nothing listens. */
  deadUpstream?: boolean;
  /** The daemon's logger (default: silent). */
  log?: Logger;
  /** Other sections, replacing the defaults that turn the other fronts off (e.g. `{ smtp: { listen: […] } }`). */
  config?: Record<string, unknown>;
}

export async function startImapEnv(options: ImapEnvOptions = {}): Promise<ImapEnv> {
  const { dir, cleanup } = tempDir('dpi');
  const upstream = new FakeImapUpstream({ masterUser: MASTER.user, masterPassword: MASTER.password });
  const upstreamPort = options.deadUpstream ? await closedPort() : await upstream.start();
  const daemon = await startDaemon(
    testConfig(dir, {
      imap: {
        listen: ['127.0.0.1:0'],
        listen_tls: ['127.0.0.1:0'],
        upstream: { host: '127.0.0.1', port: upstreamPort, tls: 'none', master_user: MASTER.user, master_password: MASTER.password },
        ...options.imap,
      },
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.hashing ? { hashing: options.hashing } : {}),
      smtp: { listen: [], listen_tls: [] },
      http: { listen: [] },
      dovecot_auth: { listen: [] },
      ...options.config,
    }),
    ...(options.log ? [options.log] : []),
  );
  const address = options.address ?? 'alice@example.com';
  await daemon.admin.addAddress(address, 'test');
  const devices: ImapEnv['devices'] = {};
  for (const [name, password] of Object.entries(options.devices ?? { phone: undefined, laptop: undefined })) {
    const made = await daemon.admin.addDevice(address, { name, ...(password === undefined ? {} : { password }), ...(options.scopes ? { scopes: options.scopes } : {}) }, 'test');
    devices[name] = { id: String(made.id), password: made.password };
  }
  const imap = daemon.surfaces.find((s) => s.name === 'imap');
  if (!imap) throw new Error('the IMAP front did not start');
  const [plain, secure] = imap.addresses().map((a) => Number(a.slice(a.lastIndexOf(':') + 1)));
  return {
    daemon,
    upstream,
    plainPort: plain!,
    tlsPort: secure!,
    devices,
    stop: async () => {
      await daemon.stop();
      if (!options.deadUpstream) await upstream.stop();
      cleanup();
    },
  };
}

/** A raw client logged in with LOGIN over implicit TLS, its session proxied to the upstream; throws when refused. */
export async function rawLogin(env: ImapEnv, password: string, address = 'alice@example.com'): Promise<RawImap> {
  const c = await RawImap.connect(env.tlsPort, { tls: true });
  await c.next(/^\* OK/);
  const answer = (await c.command('l', `LOGIN ${address} "${password}"`)).at(-1)!;
  if (!answer.startsWith('l OK')) {
    c.destroy();
    throw new Error(`login refused: ${answer}`);
  }
  return c;
}

/** A loopback port where nothing listens: bound once, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
