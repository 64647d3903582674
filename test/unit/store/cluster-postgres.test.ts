import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CredentialAdmin } from '../../../src/credentials/admin.js';
import { createCoreOn } from '../../../src/daemon.js';
import { collectWarnings } from '../../../src/errors/warnings.js';
import { createLogger } from '../../../src/log/logger.js';
import { SessionRegistry } from '../../../src/sessions/registry.js';
import { UNKNOWN, type JournalEntry, type StoreDriver } from '../../../src/store/driver.js';
import { openClusterDriver } from '../../../src/store/postgres/cluster.js';
import { openPostgresDriver } from '../../../src/store/postgres/index.js';
import { skipPostgres, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { tempDir, testConfig } from '../../helpers/env.js';
import { startUrlProxy } from '../../helpers/tcp-proxy.js';
import { until } from './driver-suite.js';

const log = createLogger('silent');
const PARAMS = 'm=1024,t=1,p=1';

describe.skipIf(skipPostgres)('several nodes on one PostgreSQL: leases, acknowledgements, the mirror', () => {
  let server: TestPostgres;
  const open: StoreDriver[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const driver of open.splice(0)) await driver.close();
  });

  const node = async (url: string, leaseMs = 1000, feedUrl?: string, logger = log) => {
    const driver = await openClusterDriver({ url, maxEvents: 1_000_000, log: logger, poolSize: 4, leaseMs, cacheSize: 1000, ...(feedUrl ? { feedUrl } : {}) });
    open.push(driver);
    await driver.feed.start();
    return driver;
  };
  const nodeRows = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<{ id: string; seq: string }>('SELECT id, seq FROM node WHERE lease_until > now()')).rows;
    } finally {
      await client.end();
    }
  };

  it('answers hits from the mirror, and once a revocation returned on another node the mirror no longer holds the credential', async () => {
    const url = await server.createDatabase();
    const a = await node(url);
    const b = await node(url);
    const address = await a.admin.addAddress('alice@example.com', randomBytes(16), 'test');
    const digest = randomBytes(32);
    const device = await a.admin.addDevice({ addressId: address.id, name: 'Phone', user: null, scopes: ['imap'], expiresAt: null, digest, params: PARAMS, actor: 'test' });

    const proven = await b.reads.credentialByDigest(address.id, digest);
    expect(proven).toMatchObject({ deviceId: device.id, state: 'active' });
    const hit = b.reads.peekCredential(proven!.id);
    expect(hit).not.toBe(UNKNOWN);
    expect(hit).toMatchObject({ state: 'active' });

    const mark = b.reads.mark();
    await a.admin.revokeDevice(address.id, device.id, 'test');
    // the command returned: B has taken the change in, so its mirror cannot vouch for the old row
    expect(b.reads.peekCredential(proven!.id)).toBe(UNKNOWN);
    expect(b.reads.changedSince(mark, 'alice@example.com')).toBe(true);
    expect(await b.reads.credentialById(proven!.id)).toMatchObject({ deviceState: 'revoked' });
    // and both nodes acknowledged the journal entry in their lease rows
    const rows = await nodeRows(url);
    expect(rows).toHaveLength(2);
  }, 30_000);

  it('a change returns without waiting on a node that stopped; a stopped node leaves no lease behind', async () => {
    const url = await server.createDatabase();
    const a = await node(url);
    const b = await node(url);
    expect(await nodeRows(url)).toHaveLength(2);
    await b.close();
    open.splice(open.indexOf(b), 1);
    expect(await nodeRows(url)).toHaveLength(1);
    const address = await a.admin.addAddress('bob@example.com', randomBytes(16), 'test');
    const device = await a.admin.addDevice({ addressId: address.id, name: 'Phone', user: null, scopes: ['imap'], expiresAt: null, digest: randomBytes(32), params: PARAMS, actor: 'test' });
    await a.admin.revokeDevice(address.id, device.id, 'test');
    expect((await a.admin.device(address.id, device.id))?.state).toBe('revoked');
  }, 30_000);

  it('a node whose journal feed lost its connection drops its mirror at once and reads PostgreSQL until it is back', async () => {
    const url = await server.createDatabase();
    const a = await node(url);
    const address = await a.admin.addAddress('carol@example.com', randomBytes(16), 'test');
    const digest = randomBytes(32);
    await a.admin.addDevice({ addressId: address.id, name: 'Phone', user: null, scopes: ['imap'], expiresAt: null, digest, params: PARAMS, actor: 'test' });
    const proven = await a.reads.credentialByDigest(address.id, digest);
    expect(a.reads.peekCredential(proven!.id)).not.toBe(UNKNOWN);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'devicepass-journal' AND datname = current_database()");
    await client.end();
    for (let i = 0; i < 100 && a.reads.peekCredential(proven!.id) !== UNKNOWN; i++) await new Promise((r) => setTimeout(r, 20));
    expect(a.reads.peekCredential(proven!.id)).toBe(UNKNOWN);
    // the read still answers, from PostgreSQL
    expect(await a.reads.credentialById(proven!.id)).toMatchObject({ state: 'active' });
  }, 30_000);

  it('a node whose journal feed is cut off without an error (a partition of that one connection) stops renewing its lease, though its pool still answers', async () => {
    const url = await server.createDatabase();
    const { proxy: path, url: feedUrl } = await startUrlProxy(url);
    try {
      const a = await node(url);
      const b = await node(url, 1000, feedUrl);
      const address = await a.admin.addAddress('dave@example.com', randomBytes(16), 'test');
      const digest = randomBytes(32);
      const device = await a.admin.addDevice({ addressId: address.id, name: 'Phone', user: null, scopes: ['imap'], expiresAt: null, digest, params: PARAMS, actor: 'test' });
      const proven = await b.reads.credentialByDigest(address.id, digest);
      expect(b.reads.peekCredential(proven!.id)).not.toBe(UNKNOWN);

      path.partition();
      const started = performance.now();
      await a.admin.revokeDevice(address.id, device.id, 'test');
      const waited = performance.now() - started;
      // B's feed heard nothing, yet B no longer vouches for the row from memory: its lease ran out with the renewals the feed could not carry
      expect(b.reads.peekCredential(proven!.id)).toBe(UNKNOWN);
      expect(await b.reads.credentialById(proven!.id)).toMatchObject({ deviceState: 'revoked' });
      // A waited for B's lease to run out (about one lease), not for a give-up after several
      expect(waited).toBeLessThan(2_000);
      path.heal();
      // and B takes the change in and holds its lease again once the path is back
      for (let i = 0; i < 200 && !b.stats().leaseHeld; i++) await new Promise((r) => setTimeout(r, 25));
      expect(b.stats().leaseHeld).toBe(true);
    } finally {
      path.heal();
      await path.close();
    }
  }, 30_000);

  it('a node whose journal feed is down while its pool still answers reads the journal through the pool: a revocation elsewhere reaches its listeners and is acknowledged, and a read that overlapped it is decided again', async () => {
    const url = await server.createDatabase();
    const { proxy: path, url: feedUrl } = await startUrlProxy(url);
    let pathOpen = true;
    try {
      const a = await node(url);
      // a long lease: had B not acknowledged, A would wait for it to run out
      const b = await node(url, 3000, feedUrl);
      const entries: JournalEntry[] = [];
      b.feed.onEntry((entry) => entries.push(entry));
      const address = await a.admin.addAddress('erin@example.com', randomBytes(16), 'test');
      const device = await a.admin.addDevice({ addressId: address.id, name: 'Phone', user: null, scopes: ['imap'], expiresAt: null, digest: randomBytes(32), params: PARAMS, actor: 'test' });

      // only the feed's way to PostgreSQL goes (a PgBouncer for the pool, a direct path for the feed), and stays gone
      await path.close();
      pathOpen = false;
      await until(() => b.stats().journalConnected === false, 'B\'s feed to notice');
      // a login read on B starting now, after the lapse that came with it
      const mark = b.reads.mark();
      const started = performance.now();
      await a.admin.revokeDevice(address.id, device.id, 'test');
      const waited = performance.now() - started;
      await until(() => entries.some((e) => e.deviceId === device.id && e.cuts), 'the revocation to reach B\'s listeners', 1_000);
      // so B cuts the device's sessions, and a login whose read overlapped the revocation is decided again
      expect(b.reads.changedSince(mark, 'erin@example.com')).toBe(true);
      // B acknowledged it through its pool: A returned long before B's lease (3 s) could run out
      expect(waited).toBeLessThan(1_500);
      expect(b.stats().journalConnected).toBe(false);
      // in order, each once
      const seqs = entries.map((e) => e.seq);
      expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
    } finally {
      if (pathOpen) await path.close();
    }
  }, 30_000);

  it('journal entries a node had not read yet were purged: it notices, says so once, drops its whole mirror as on a lapse, and closes every session it holds', async () => {
    const url = await server.createDatabase();
    const { proxy: path, url: feedUrl } = await startUrlProxy(url);
    try {
      const lines: Array<{ level: number; msg: string }> = [];
      const logger = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
      const b = await node(url, 2000, feedUrl, logger);
      // another node whose purge keeps no journal at all (a retention far too short for a node that lags)
      const other = await openPostgresDriver({ url, maxEvents: 1000, log, journalRetentionMs: 0 });
      try {
        const address = await other.admin.addAddress('frank@example.com', randomBytes(16), 'test');
        const digest = randomBytes(32);
        const device = await other.admin.addDevice({ addressId: address.id, name: 'Phone', user: null, scopes: ['imap'], expiresAt: null, digest, params: PARAMS, actor: 'test' });
        // `other` waits for no node, so B may take in the journal entries of these two changes while it reads,
        // and a read that overlapped an entry is not kept: read again until B holds the row
        let proven = await b.reads.credentialByDigest(address.id, digest);
        for (let i = 0; i < 50 && b.reads.peekCredential(proven!.id) === UNKNOWN; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          proven = await b.reads.credentialByDigest(address.id, digest);
        }
        expect(b.reads.peekCredential(proven!.id)).not.toBe(UNKNOWN);
        // B as a daemon wires it: a session of the device, and one of a device nobody touched
        const scratch = tempDir('dpgap');
        const core = createCoreOn(b, testConfig(scratch.dir), logger);
        const closed: string[] = [];
        const session = (deviceId: number, name: string) => core.registry.register(
          { address: 'frank@example.com', deviceId, deviceName: name, protocol: 'imap', clientIp: '192.0.2.1', clientName: null, since: Date.now() },
          (reason) => closed.push(`${name}: ${reason}`),
        );
        session(device.id, 'Phone');
        session(device.id + 1000, 'Untouched');

        // B hears nothing for a moment (far less than its lease): the revocation and the purge happen meanwhile
        path.partition();
        await other.admin.revokeDevice(address.id, device.id, 'test');
        await other.admin.purge(Date.now() + 1000, 86_400_000, 86_400_000);
        path.heal();

        // B finds the journal purged past what it read: it cannot know what it missed, so it keeps nothing
        await until(() => b.reads.peekCredential(proven!.id) === UNKNOWN, 'B to drop its mirror', 5_000);
        expect(await b.reads.credentialById(proven!.id)).toMatchObject({ deviceState: 'revoked' });
        // which device the purged entries revoked is unknown: every session goes, and the clients log in again
        expect(closed.sort()).toEqual(['Phone: journal-gap', 'Untouched: journal-gap']);
        expect(core.registry.size).toBe(0);
        scratch.cleanup();
        // said once, however many reads see the same purge
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(lines.filter((l) => /had not read were purged/.test(l.msg))).toHaveLength(1);
        expect(lines.filter((l) => /every session held here was closed/.test(l.msg))).toHaveLength(1);
        // and it trusts its mirror again once its lease is renewed
        await until(() => b.stats().leaseHeld === true, 'B to hold its lease again', 5_000);
      } finally {
        await other.close();
      }
    } finally {
      path.heal();
      await path.close();
    }
  }, 30_000);

  describe('a change that is committed but not confirmed everywhere', () => {
    const sql = async (url: string, text: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    };
    const setUp = async (a: StoreDriver, name: string) => {
      const address = await a.admin.addAddress(`${name}@example.com`, randomBytes(16), 'test');
      const device = await a.admin.addDevice({ addressId: address.id, name: 'Phone', user: null, scopes: ['imap'], expiresAt: null, digest: randomBytes(32), params: PARAMS, actor: 'test' });
      return { address, device };
    };

    it('a node that renews its lease but never acknowledges: the change returns after three leases, and the caller is warned by name', async () => {
      const url = await server.createDatabase();
      const a = await node(url, 500);
      const { address, device } = await setUp(a, 'gina');
      // a node that keeps a live lease and never moves its seq (a fault: renewals carry the seq they read)
      await sql(url, `INSERT INTO node (id, seq, lease_until) VALUES ('deaf-node', 0, now() + interval '1 minute')`);
      const started = performance.now();
      const { warnings } = await collectWarnings(() => a.admin.revokeDevice(address.id, device.id, 'test'));
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
      expect(warnings).toEqual([expect.stringMatching(/committed.*deaf-node/s)]);
      expect((await a.admin.device(address.id, device.id))?.state).toBe('revoked');
      await sql(url, `DELETE FROM node WHERE id = 'deaf-node'`);
    }, 30_000);

    it('the check for acknowledgements fails after COMMIT: the change is not reported as failed; it returns once a lease has passed, with a warning that it is committed', async () => {
      const url = await server.createDatabase();
      const a = await node(url, 500);
      const { address, device } = await setUp(a, 'hank');
      // nothing can read the lease table now (another session holds it): the revocation commits, its check cannot run
      const blocker = new pg.Client({ connectionString: url });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE node IN ACCESS EXCLUSIVE MODE');
        const started = performance.now();
        const outcome = await collectWarnings(() => a.admin.revokeDevice(address.id, device.id, 'test')).catch((err: unknown) => err as Error);
        const waited = performance.now() - started;
        expect(outcome).not.toBeInstanceOf(Error);
        expect((outcome as { warnings: string[] }).warnings).toEqual([expect.stringMatching(/committed/)]);
        // every node either took it in or stopped trusting its mirror one lease after the commit: that long, not the statement timeout
        expect(waited).toBeGreaterThanOrEqual(450);
        expect(waited).toBeLessThan(5_000);
      } finally {
        await blocker.query('ROLLBACK');
        await blocker.end();
      }
      expect((await a.admin.device(address.id, device.id))?.state).toBe('revoked');
    }, 30_000);

    it('revoking a device that is already revoked answers only once every live node has taken in the journal as it stands', async () => {
      const url = await server.createDatabase();
      const a = await node(url, 1000);
      const { address, device } = await setUp(a, 'iris');
      // revoked by a command that did not wait for the nodes (as when its node lost PostgreSQL right after COMMIT)
      const plain = await openPostgresDriver({ url, maxEvents: 1000, log });
      try {
        await plain.admin.revokeDevice(address.id, device.id, 'test');
      } finally {
        await plain.close();
      }
      // a node with a live lease that has not taken it in yet
      await sql(url, `INSERT INTO node (id, seq, lease_until) VALUES ('slow-node', 0, now() + interval '1 minute')`);
      const admin = new CredentialAdmin(a.admin, new SessionRegistry(), { memoryKib: 1024, iterations: 1, parallelism: 1 });
      let answered = false;
      const retry = admin.revokeDevice('iris@example.com', String(device.id), 'test').then(() => null, (err: unknown) => err).finally(() => {
        answered = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(answered).toBe(false);
      await sql(url, `UPDATE node SET seq = (SELECT max(seq) FROM revocation) WHERE id = 'slow-node'`);
      expect(await retry).toMatchObject({ code: 'DEVICE_REVOKED' });
      await sql(url, `DELETE FROM node WHERE id = 'slow-node'`);
    }, 30_000);
  });
});
