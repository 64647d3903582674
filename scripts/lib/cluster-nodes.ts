/**
 * The nodes of the cluster benchmark: an in-process credential core on
 * SQLite or on the PostgreSQL cluster driver (what the Authenticator and
 * CredentialAdmin measurements drive), and other nodes as real devicepassd
 * processes on the same PostgreSQL database.
 */
import { randomBytes } from 'node:crypto';
import { buildConfig } from '../../src/config/load.js';
import { formatParams } from '../../src/credentials/digest.js';
import { createCore, createCoreOn, hashParams } from '../../src/daemon.js';
import { silentLogger } from '../../src/log/logger.js';
import { openStore } from '../../src/store/open.js';
import { spawnDevicepassd, type DevicepassProcess } from '../e2e/devicepassd.js';
import { freePort } from '../e2e/host.js';

export type DriverKind = 'sqlite' | 'postgres';

export type Core = ReturnType<typeof createCoreOn>;

export interface InProcessNode {
  core: Core;
  close(): Promise<void>;
}

/**
 * A credential core in this process. SQLite lives under `dir`; PostgreSQL is
 * the cluster driver on `url`, its journal feed and lease started as
 * startDaemon starts them (without them the mirror never vouches for a row).
 */
export async function openNode(kind: DriverKind, dir: string, url: string, cacheSize: number): Promise<InProcessNode> {
  const auth = { cache_size: cacheSize };
  if (kind === 'sqlite') {
    const core = createCore(buildConfig({ data_dir: dir, auth }), silentLogger);
    return { core, close: () => closeCore(core) };
  }
  const config = buildConfig({ data_dir: dir, auth, store: { driver: 'postgres', url } });
  const driver = await openStore(config, silentLogger);
  const core = createCoreOn(driver, config, silentLogger);
  try {
    await driver.feed.start();
  } catch (err) {
    await driver.close();
    throw err;
  }
  return { core, close: () => closeCore(core) };
}

async function closeCore(core: Core): Promise<void> {
  await core.recorder.flush();
  await core.driver.close();
}

/**
 * Adds `address` with `count` devices. The first `withPasswords` get real
 * passwords (one argon2id each); the others random digests straight into
 * the store, which no password matches: they exist to be revoked, or to fill
 * the address.
 */
export async function seedAddress(core: Core, address: string, count: number, withPasswords = 1): Promise<{ passwords: string[]; deviceIds: number[] }> {
  await core.admin.addAddress(address, 'bench');
  const passwords: string[] = [];
  const deviceIds: number[] = [];
  for (let i = 0; i < withPasswords; i++) {
    const device = await core.admin.addDevice(address, { name: `device ${i}` }, 'bench');
    passwords.push(device.password);
    deviceIds.push(Number(device.id));
  }
  const row = await core.driver.admin.findAddress(address);
  if (!row) throw new Error(`${address} vanished`);
  const params = formatParams(hashParams(buildConfig({})));
  for (let i = withPasswords; i < count; i++) {
    const device = await core.driver.admin.addDevice({
      addressId: row.id, name: `device ${i}`, user: null, scopes: ['imap', 'smtp'], expiresAt: null, digest: randomBytes(32), params, actor: 'bench',
    });
    deviceIds.push(device.id);
  }
  return { passwords, deviceIds };
}

export interface PeerNode extends DevicepassProcess {
  /** The plaintext IMAP port, when the node has its IMAP front on. */
  imapPort: number | null;
}

const OTHER_SURFACES = ['[pop3]', '[smtp]', '[dovecot_auth]', '[http]', '[web]'].map((s) => `${s}\nlisten = []\n${s === '[pop3]' || s === '[smtp]' ? 'listen_tls = []\n' : ''}`).join('');

/**
 * Another node as its own devicepassd process on `url`: every front off but
 * IMAP when `imapUpstream` is given (plaintext on loopback, the client
 * trusted as any loopback client is by default).
 */
export async function startPeerNode(dir: string, url: string, imapUpstream: number | null, sessions: number): Promise<PeerNode> {
  const imapPort = imapUpstream === null ? null : await freePort();
  // every session comes from loopback: one client network holding them all
  const limits = ['max_connections', 'max_connections_per_network'].map((key) => `${key} = ${sessions + 100}`).join('\n');
  const imap = imapPort === null
    ? '[imap]\nlisten = []\nlisten_tls = []\n'
    : `[imap]\nlisten = ["127.0.0.1:${imapPort}"]\nlisten_tls = []\n${limits}\n[imap.upstream]\nhost = "127.0.0.1"\nport = ${imapUpstream}\ntls = "none"\nmaster_user = "master"\nmaster_password = "instant"\n`;
  const store = `[store]\ndriver = "postgres"\nurl = ${JSON.stringify(url)}\n`;
  const node = await spawnDevicepassd(dir, `${store}${imap}${OTHER_SURFACES}`);
  return { ...node, imapPort };
}
