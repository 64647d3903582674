import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../../src/store/driver.js';
import { createLogger } from '../../../src/log/logger.js';
import { maskUrl, openPostgresDriver, PgJournalFeed, StoreUnavailableError, type PostgresDriver } from '../../../src/store/postgres/index.js';
import { MIGRATION_LOCK_KEY, PG_MIGRATIONS } from '../../../src/store/postgres/schema.js';
import { skipPostgres, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { startUrlProxy } from '../../helpers/tcp-proxy.js';
import { describeDriver, until } from './driver-suite.js';

const log = createLogger('silent');
const PARAMS = 'm=1024,t=1,p=1';

describe.skipIf(skipPostgres)('PostgreSQL driver', () => {
  let server: TestPostgres;
  const open: PostgresDriver[] = [];
  const feeds: PgJournalFeed[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  const openDriver = async (url: string, options: Partial<Parameters<typeof openPostgresDriver>[0]> = {}) => {
    const driver = await openPostgresDriver({ url, maxEvents: 1_000_000, log, ...options });
    open.push(driver);
    return driver;
  };
  const sql = async <R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };

  describeDriver('postgres', async () => openDriver(await server.createDatabase()));

  it('runs the migrations once when two nodes open a fresh database at the same time, and refuses a newer one', async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([openDriver(url), openDriver(url)]);
    expect(await a.schemaVersion()).toBe(PG_MIGRATIONS.length);
    expect(await b.schemaVersion()).toBe(PG_MIGRATIONS.length);
    const versions = await sql<{ version: number }>(url, 'SELECT version FROM schema_version ORDER BY version');
    expect(versions.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    const columns = await sql<{ column_name: string }>(url, `SELECT column_name FROM information_schema.columns WHERE table_name = 'node' ORDER BY ordinal_position`);
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'seq', 'lease_until', 'started_at', 'host']);
    await a.close();
    await b.close();
    // reopening migrates nothing
    const again = await openDriver(url);
    expect(await again.schemaVersion()).toBe(PG_MIGRATIONS.length);
    await again.close();
    await sql(url, 'INSERT INTO schema_version (version) VALUES ($1)', [PG_MIGRATIONS.length + 1]);
    await expect(openDriver(url)).rejects.toThrow(/newer than this devicepass/);
  });

  it('a node that waits for another node\'s migration longer than the statement timeout still starts once it is done', async () => {
    const url = await server.createDatabase();
    // another node holds the migration lock (its migration runs long)
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    let releasedAt = 0;
    const release = setTimeout(() => {
      releasedAt = performance.now();
      void other.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }, 1_000);
    try {
      // a statement timeout far below the wait: the wait is not a statement it may cancel
      const driver = await openDriver(url, { pool: { statementTimeoutMs: 200 } });
      expect(releasedAt).toBeGreaterThan(0);
      expect(await driver.schemaVersion()).toBe(PG_MIGRATIONS.length);
    } finally {
      clearTimeout(release);
      await other.end();
    }
  });

  it('journals every change that moves a generation, cuts or not, and hands each change its seq after commit', async () => {
    const url = await server.createDatabase();
    const seqs: number[] = [];
    const driver = await openDriver(url, { afterChange: async (seq) => { seqs.push(seq); } });
    const entries: JournalEntry[] = [];
    driver.feed.onEntry((e) => entries.push(e));
    const applied: number[] = [];
    driver.feed.onApplied((seq) => applied.push(seq));
    await driver.feed.start();
    const a = await driver.admin.addAddress('a@example.com', randomBytes(16), 'test');
    const d = await driver.admin.addDevice({ addressId: a.id, name: 'Phone', user: null, scopes: ['imap'], expiresAt: null, digest: randomBytes(32), params: PARAMS, actor: 't' });
    await driver.admin.renameDevice(a.id, d.id, 'Phone 2', 't');
    await driver.admin.importGeneric('a@example.com', randomBytes(16), 'PLAIN', 'x', 't');
    await driver.admin.importGeneric('a@example.com', randomBytes(16), 'PLAIN', 'x', 't'); // unchanged: no entry
    await driver.admin.revokeDevice(a.id, d.id, 't');
    await until(() => entries.length >= 5, 'five entries');
    const generic = (await driver.admin.genericDevice(a.id))!;
    expect(entries.map((e) => [e.deviceId, e.reason, e.cuts])).toEqual([
      [null, 'address-added', false], [d.id, 'device-added', false], [d.id, 'device-renamed', false],
      [generic.id, 'generic-imported', false], [d.id, 'device-revoked', true],
    ]);
    expect(seqs).toEqual(entries.map((e) => e.seq));
    await until(() => applied.at(-1) === seqs.at(-1), 'the applied seq');
    expect(driver.feed.appliedSeq).toBe(seqs.at(-1));
  });

  it('keeps journal order equal to commit order with two nodes writing at once: the feed skips nothing', async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([openDriver(url), openDriver(url)]);
    const entries: JournalEntry[] = [];
    a.feed.onEntry((e) => entries.push(e));
    await a.feed.start();
    // one device on each of 20 addresses: no address row lock orders the revocations, only the journal lock can
    const devices = [];
    for (let i = 0; i < 20; i++) {
      const address = await a.admin.addAddress(`u${i}@example.com`, randomBytes(16), 't');
      const device = await a.admin.addDevice({ addressId: address.id, name: `D${i}`, user: null, scopes: ['imap'], expiresAt: null, digest: randomBytes(32), params: PARAMS, actor: 't' });
      devices.push({ addressId: address.id, id: device.id });
    }
    // a random pause between a change's journal insert and its commit: without the journal lock a later seq
    // would often commit first, the feed would read it, move past the earlier one and never see it
    await sql(url, `CREATE FUNCTION dp_test_linger() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(random() * 0.02); RETURN NULL; END $$`);
    await sql(url, 'CREATE TRIGGER dp_test_linger AFTER INSERT ON revocation FOR EACH STATEMENT EXECUTE FUNCTION dp_test_linger()');
    await Promise.all(devices.map((d, i) => (i % 2 ? a : b).admin.revokeDevice(d.addressId, d.id, 't')));
    // every revocation returned, so every one is committed: one more read takes in whatever the feed has not yet
    await a.feed.catchUp();
    const cuts = entries.filter((e) => e.cuts);
    expect(cuts.map((e) => e.deviceId).sort((x, y) => x! - y!)).toEqual(devices.map((d) => d.id));
    // in sequence order, each once
    const seqs = entries.map((e) => e.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
  });

  it('replays what it missed after its connection was killed, and after a server restart', async () => {
    const url = await server.createDatabase();
    const b = await openDriver(url);
    // a slow first reconnect: the revocation below is surely made while the feed is away; and no fallback
    // reader (the driver's pool), so what it missed can only come from the replay on reconnect
    const feed = new PgJournalFeed({ url, log, backoffMs: { first: 500, cap: 2_000 } });
    feeds.push(feed);
    const entries: JournalEntry[] = [];
    const ups: boolean[] = [];
    feed.onEntry((e) => entries.push(e));
    feed.onConnectionChange((up) => ups.push(up));
    await feed.start();
    expect(feed.connected).toBe(true);
    const address = await b.admin.addAddress('a@example.com', randomBytes(16), 't');
    const add = (name: string) => b.admin.addDevice({ addressId: address.id, name, user: null, scopes: ['imap'], expiresAt: null, digest: randomBytes(32), params: PARAMS, actor: 't' });
    const one = await add('One');
    const two = await add('Two');
    const three = await add('Three');

    await sql(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'devicepass-journal' AND datname = current_database()`);
    await until(() => !feed.connected, 'the feed to notice');
    await b.admin.revokeDevice(address.id, one.id, 't');
    await until(() => entries.some((e) => e.deviceId === one.id && e.cuts), 'the revocation made while the feed was cut off');
    expect(ups).toEqual([true, false, true]);

    await server.restart();
    // the pool's connections died with the server: the first statement on a dead one may fail as unavailable
    await retryUnavailable(() => b.admin.revokeDevice(address.id, two.id, 't'));
    await until(() => entries.some((e) => e.deviceId === two.id && e.cuts), 'the revocation made after the restart');
    await until(() => feed.connected, 'the feed back');
    await b.admin.revokeDevice(address.id, three.id, 't');
    await until(() => entries.some((e) => e.deviceId === three.id && e.cuts), 'a revocation once reconnected');
    const cut = entries.filter((e) => e.cuts).map((e) => e.deviceId);
    expect([...new Set(cut)]).toEqual([one.id, two.id, three.id]);
  }, 60_000);

  it('a partition that starts during a read (no error, no reset): the read\'s deadline counts the connection as lost, a renewal does not wait on it unbounded, stop() does not wait for it', async () => {
    const url = await server.createDatabase();
    const { proxy: path, url: feedUrl } = await startUrlProxy(url);
    try {
      const a = await openDriver(url, { feed: { url: feedUrl, readTimeoutMs: 1_500, backoffMs: { first: 50, cap: 200 } } });
      const ups: boolean[] = [];
      a.feed.onConnectionChange((up) => ups.push(up));
      await a.feed.start();
      path.partition();
      // a wake-up read goes out into the partition and hears nothing back
      const hung = settlesWithin(a.feed.catchUp(), 5_000);
      // a renewal behind it gives up after its own time, not the read's
      const renewal = await settlesWithin(a.feed.caughtUp(() => ({ text: 'SELECT 1' }), 200), 1_000);
      expect(renewal).toMatchObject({ rejected: expect.objectContaining({ message: expect.stringMatching(/journal feed/) }) });
      // the read's deadline ends it and counts the connection as lost (the feed reconnects and replays from its last seq)
      await until(() => !a.feed.connected, 'the feed to count its connection as lost', 4_000);
      expect(ups).toEqual([true, false]);
      expect(await hung).not.toBe('timeout');
      // a stop while partitioned (SIGTERM) ends at once
      const stopping = performance.now();
      expect(await settlesWithin(a.close(), 3_000)).toEqual({ resolved: undefined });
      expect(performance.now() - stopping).toBeLessThan(3_000);
    } finally {
      path.heal();
      await path.close();
    }
  }, 30_000);

  it('a journal read through the pool that never answers (no connection to be had) holds up neither the reconnect nor the stop', async () => {
    const url = await server.createDatabase();
    const writer = await openDriver(url);
    const { proxy: path, url: feedUrl } = await startUrlProxy(url);
    // the pool as a partition leaves it: every statement waits for a connection that never comes
    const feed = new PgJournalFeed({
      url: feedUrl, log, readTimeoutMs: 300, backoffMs: { first: 50, cap: 100 },
      fallback: () => new Promise(() => {}),
    });
    const entries: JournalEntry[] = [];
    feed.onEntry((entry) => entries.push(entry));
    try {
      await feed.start();
      path.partition();
      // the cheap poll's read meets the deadline: the connection counts as lost, the fallback polls (and hangs)
      await until(() => !feed.connected, 'the feed to count its connection as lost', 4_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      path.heal();
      await until(() => feed.connected, 'the feed to reconnect', 4_000);
      // a change made now reaches the feed: nothing waits on the read the pool never answered
      const address = await writer.admin.addAddress('gail@example.com', randomBytes(16), 'test');
      const device = await writer.admin.addDevice({ addressId: address.id, name: 'Phone', user: null, scopes: ['imap'], expiresAt: null, digest: randomBytes(32), params: PARAMS, actor: 'test' });
      await writer.admin.revokeDevice(address.id, device.id, 'test');
      await until(() => entries.some((e) => e.address === 'gail@example.com' && e.deviceId === device.id && e.cuts), 'the revocation through the feed', 3_000);
      const stopping = performance.now();
      expect(await settlesWithin(feed.stop(), 3_000)).toEqual({ resolved: undefined });
      expect(performance.now() - stopping).toBeLessThan(1_500);
    } finally {
      path.heal();
      await feed.stop();
      await path.close();
    }
  }, 30_000);

  it('a server that is down gives StoreUnavailableError without the password, reports it in health(), and recovers', async () => {
    const url = await server.createDatabase();
    const driver = await openDriver(url, { pool: { connectionTimeoutMs: 1_000 } });
    expect(driver.health()).toMatchObject({ ok: true, detail: expect.stringContaining('***') });
    await driver.admin.addAddress('a@example.com', randomBytes(16), 't');
    expect(driver.health().ok).toBe(true);
    expect(driver.location).not.toContain(server.password);
    await server.stopServer();
    try {
      const err = await driver.reads.findAddress('a@example.com').then(() => null, (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(String(err!.message)).not.toContain(server.password);
      expect(err!.stack ?? '').not.toContain(server.password);
      expect(driver.health().ok).toBe(false);
      expect(driver.health().detail).not.toContain(server.password);
      const refused = await openPostgresDriver({ url, maxEvents: 10, log }).then(() => null, (e: unknown) => e as Error);
      expect(refused).toBeInstanceOf(StoreUnavailableError);
      expect(refused!.message).toContain('***');
      expect(refused!.message).not.toContain(server.password);
    } finally {
      await server.startServer();
    }
    expect(await retryUnavailable(() => driver.reads.findAddress('a@example.com'))).toMatchObject({ address: 'a@example.com' });
    expect(driver.health().ok).toBe(true);
  }, 60_000);

  it('an idle node found failing reports healthy again once the server is back, without a login to prove it', async () => {
    // a load balancer that took the node out on 503 sends it no logins: health must not wait for one
    const driver = await openDriver(await server.createDatabase(), { pool: { connectionTimeoutMs: 1_000 } });
    await driver.admin.addAddress('idle@example.com', randomBytes(16), 't');
    await server.stopServer();
    try {
      await expect(driver.reads.findAddress('idle@example.com')).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(driver.health().ok).toBe(false);
    } finally {
      await server.startServer();
    }
    // only health() is asked from here on, as /healthz asks it
    await until(() => driver.health().ok, 'health() ok after the restart', 15_000);
    expect(driver.health().detail).not.toContain(server.password);
  }, 60_000);

  it('never shows a password in an error or a location', async () => {
    const wrong = 'not-the-password-' + randomBytes(4).toString('hex');
    const url = (await server.createDatabase()).replace(server.password, wrong);
    const err = await openPostgresDriver({ url, maxEvents: 10, log }).then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/password authentication failed/);
    expect(`${err!.message} ${err!.stack}`).not.toContain(wrong);
    expect(maskUrl('postgres://u:s3cret@db.example:5432/dp?sslmode=require')).toBe('postgres://u:***@db.example:5432/dp?sslmode=require');
    expect(maskUrl('postgres://db.example/dp?password=s3cret')).not.toContain('s3cret');
    expect(maskUrl('postgres://db.example/dp')).toBe('postgres://db.example/dp');
  });

  it('caps the event table: past event_max_rows the oldest login records go first, administrative events stay', async () => {
    const driver = await openDriver(await server.createDatabase(), { maxEvents: 1000 });
    await driver.admin.addAddress('a@example.com', randomBytes(16), 'test');
    const at = Date.now();
    for (let batch = 0; batch < 30; batch++) {
      await driver.audit.appendEvents(Array.from({ length: 100 }, (_, i) => ({
        at: at + batch * 100 + i, type: 'login.ok', address: 'a@example.com', ip: `192.0.2.${i}`, protocol: 'imap',
      })));
    }
    const events = await driver.admin.events('a@example.com', 5000);
    expect(events.length).toBeLessThanOrEqual(1001);
    expect(events.length).toBeGreaterThanOrEqual(900);
    expect(events[0]!.type).toBe('address.add');
    expect(events.at(-1)!.at).toBe(at + 2999);
    expect(events[1]!.at).toBeGreaterThan(at + 1000);
  });

  it('imports 100,000 lines in one transaction', async () => {
    const driver = await openDriver(await server.createDatabase());
    const bulk = await driver.admin.beginBulkImport();
    const salt = randomBytes(16);
    let imported = 0;
    for (let i = 0; i < 100_000; i++) if (bulk.importGeneric(`u${i}@example.com`, salt, 'PLAIN', `p${i}`, 'import') === 'imported') imported++;
    await bulk.commit();
    expect(imported).toBe(100_000);
    const addresses = await driver.admin.listAddresses();
    expect(addresses).toHaveLength(100_000);
    expect(addresses.every((a) => a.generic && a.generation === 2)).toBe(true);
    const last = (await driver.admin.findAddress('u99999@example.com'))!;
    expect((await driver.reads.pendingLegacy(last.id)).map((c) => c.hash)).toEqual(['p99999']);
    // an administrative change after the import is not held back by it
    expect(await driver.admin.importGeneric('u1@example.com', salt, 'PLAIN', 'p1', 't')).toBe('unchanged');
  }, 120_000);

  it('the backup command says to use pg_dump', async () => {
    const driver = await openDriver(await server.createDatabase());
    await expect(driver.backup('/tmp/x')).rejects.toMatchObject({ code: 'REQUEST_INVALID', message: expect.stringMatching(/pg_dump/) });
    expect(driver.name).toBe('postgres');
    expect(driver.stats()).toMatchObject({ poolTotal: expect.any(Number), poolIdle: expect.any(Number), poolWaiting: 0 });
  });

  afterAll(async () => {
    await Promise.all([...open.map((d) => d.close().catch(() => {})), ...feeds.map((f) => f.stop())]);
  });
});

/** How a promise settled within `ms`, or 'timeout'. */
async function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<{ resolved: T } | { rejected: unknown } | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise.then((resolved) => ({ resolved }), (rejected: unknown) => ({ rejected })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function retryUnavailable<T>(body: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await body();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || attempt > 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
