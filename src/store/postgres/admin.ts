/**
 * Administrative changes in PostgreSQL. Each is one transaction on one pooled
 * client: it takes the administrative write lock shared (a bulk import takes
 * it exclusive), locks the address row (two nodes changing one address take
 * turns, so a read-then-write such as revoke-all sees what it changes), writes
 * the change, its audit event, the generation bump and its journal rows, and
 * wakes every node with NOTIFY. After COMMIT it hands the journal seq to
 * `afterChange` (the cluster layer waits there for every live node to have
 * taken the change in) and only then resolves.
 */
import type pg from 'pg';
import { JOURNAL_RETENTION_MS, type AdminStore } from '../driver.js';
import type { AddressRow, BulkImport, DeviceRow, ImportOutcome, NewDevice, StoredEvent } from '../types.js';
import { PgBulkImport } from './bulk-import.js';
import { insertEvent } from './events.js';
import { WRITE_LOCK_KEY, writeJournal, type JournalRow } from './journal.js';
import type { PgPool } from './pool.js';
import { PgLoginReads } from './reads.js';
import { toAddress, toDevice, toEvent, type AddressRecord, type DeviceRecord, type EventRecord } from './rows.js';

export interface PgAdminStoreOptions {
  /** Awaited after each change that wrote journal rows, with the change's last seq, before the change resolves. */
  afterChange?: (seq: number) => Promise<void>;
  /** The journal only has to outlive the slowest follower's catch-up; purge drops older rows. */
  journalRetentionMs?: number;
}

const DEVICE_COLUMNS = `id, address_id, kind, name, "user", scopes, state, created_at, created_by, expires_at, revoked_at,
  last_used_at, last_used_protocol, last_used_ip, last_used_client`;

/** One change in flight: its client and the journal rows it will write at the end. */
interface Change {
  client: pg.PoolClient;
  journal: JournalRow[];
}

export class PgAdminStore implements AdminStore {
  readonly #pool: PgPool;
  readonly #reads: PgLoginReads;
  readonly #afterChange: ((seq: number) => Promise<void>) | undefined;
  readonly #journalRetentionMs: number;

  constructor(pool: PgPool, options: PgAdminStoreOptions = {}) {
    this.#pool = pool;
    this.#reads = new PgLoginReads(pool);
    this.#afterChange = options.afterChange;
    this.#journalRetentionMs = options.journalRetentionMs ?? JOURNAL_RETENTION_MS;
  }

  findAddress(address: string): Promise<AddressRow | undefined> {
    return this.#reads.findAddress(address);
  }

  async addAddress(address: string, salt: Buffer, actor: string): Promise<AddressRow> {
    return this.#change(async (tx) => {
      const now = Date.now();
      const { rows } = await tx.client.query<{ id: number }>(
        'INSERT INTO address (address, salt, created_at, created_by) VALUES ($1, $2, $3, $4) RETURNING id',
        [address, salt, now, actor],
      );
      await insertEvent(tx.client, { at: now, type: 'address.add', address, actor });
      // a node may hold "no such address" in memory
      tx.journal.push({ address, deviceId: null, reason: 'address-added', cuts: false });
      return { id: rows[0]!.id, address, salt, generation: 1, createdAt: now };
    });
  }

  async listAddresses(): Promise<Array<AddressRow & { devices: number; generic: boolean }>> {
    const { rows } = await this.#pool.query<AddressRecord & { devices: number; generic: number }>(`SELECT a.id, a.address, a.salt, a.generation, a.created_at,
      (SELECT count(*) FROM device d WHERE d.address_id = a.id AND d.state = 'active' AND d.kind = 'device') AS devices,
      (SELECT count(*) FROM device d WHERE d.address_id = a.id AND d.state = 'active' AND d.kind = 'generic') AS generic
      FROM address a ORDER BY a.address COLLATE "C"`);
    return rows.map((row) => ({ ...toAddress(row), devices: row.devices, generic: row.generic > 0 }));
  }

  async removeAddress(addressId: number, actor: string): Promise<void> {
    await this.#change(async (tx) => {
      const address = await lockAddress(tx.client, addressId);
      await tx.client.query('DELETE FROM address WHERE id = $1', [addressId]);
      await insertEvent(tx.client, { at: Date.now(), type: 'address.remove', address, actor });
      tx.journal.push({ address, deviceId: null, reason: 'address-removed', cuts: true });
    });
  }

  async listDevices(addressId: number): Promise<DeviceRow[]> {
    return devicesOf(this.#pool, addressId);
  }

  async device(addressId: number, deviceId: number): Promise<DeviceRow | undefined> {
    return deviceOf(this.#pool, addressId, deviceId);
  }

  async genericDevice(addressId: number): Promise<DeviceRow | undefined> {
    return genericOf(this.#pool, addressId);
  }

  async activeDigestOwner(addressId: number, digest: Buffer): Promise<string | undefined> {
    const credential = await this.#reads.credentialByDigest(addressId, digest);
    return credential && credential.state === 'active' && credential.deviceState === 'active' ? credential.deviceName : undefined;
  }

  async addDevice(device: NewDevice): Promise<DeviceRow> {
    return this.#change(async (tx) => {
      const address = await lockAddress(tx.client, device.addressId);
      const now = Date.now();
      const { rows } = await tx.client.query<DeviceRecord>(
        `INSERT INTO device (address_id, kind, name, "user", scopes, state, created_at, created_by, expires_at)
          VALUES ($1, 'device', $2, $3, $4, 'active', $5, $6, $7) RETURNING ${DEVICE_COLUMNS}`,
        [device.addressId, device.name, device.user, device.scopes.join(','), now, device.actor, device.expiresAt],
      );
      const row = rows[0]!;
      await insertCredential(tx.client, device.addressId, row.id, device.digest, device.params, null, null, now);
      await bump(tx.client, device.addressId);
      await insertEvent(tx.client, {
        at: now, type: 'device.add', address, deviceId: row.id, deviceName: device.name, actor: device.actor,
        detail: { user: device.user, scopes: device.scopes, expires: device.expiresAt === null ? null : new Date(device.expiresAt).toISOString() },
      });
      tx.journal.push({ address, deviceId: row.id, reason: 'device-added', cuts: false });
      return toDevice(row);
    });
  }

  async renameDevice(addressId: number, deviceId: number, name: string, actor: string): Promise<void> {
    await this.#change(async (tx) => {
      const address = await lockAddress(tx.client, addressId);
      const before = await deviceOf(tx.client, addressId, deviceId);
      if (!before) throw new Error(`no device ${deviceId} for address ${addressId}`);
      await tx.client.query('UPDATE device SET name = $1 WHERE id = $2', [name, deviceId]);
      await insertEvent(tx.client, {
        at: Date.now(), type: 'device.rename', address, deviceId, deviceName: name, actor, detail: { from: before.name },
      });
      // a node may hold the old name in memory (it is logged with each login)
      tx.journal.push({ address, deviceId, reason: 'device-renamed', cuts: false });
    });
  }

  async resetDevice(addressId: number, deviceId: number, digest: Buffer, params: string, actor: string): Promise<void> {
    await this.#change(async (tx) => {
      const address = await lockAddress(tx.client, addressId);
      const now = Date.now();
      await retire(tx.client, 'reset-away', now, [deviceId]);
      await insertCredential(tx.client, addressId, deviceId, digest, params, null, null, now);
      await bump(tx.client, addressId);
      const device = await deviceOf(tx.client, addressId, deviceId);
      await insertEvent(tx.client, { at: now, type: 'device.reset', address, deviceId, deviceName: device?.name ?? null, actor });
      tx.journal.push({ address, deviceId, reason: 'device-reset', cuts: true });
    });
  }

  async revokeDevice(addressId: number, deviceId: number, actor: string): Promise<void> {
    await this.#change(async (tx) => {
      const address = await lockAddress(tx.client, addressId);
      const now = Date.now();
      await revoke(tx.client, now, [deviceId]);
      await bump(tx.client, addressId);
      const device = await deviceOf(tx.client, addressId, deviceId);
      await insertEvent(tx.client, { at: now, type: 'device.revoke', address, deviceId, deviceName: device?.name ?? null, actor });
      tx.journal.push({ address, deviceId, reason: 'device-revoked', cuts: true });
    });
  }

  async revokeAll(addressId: number, includeGeneric: boolean, actor: string): Promise<number> {
    return this.#change(async (tx) => {
      const address = await lockAddress(tx.client, addressId);
      const now = Date.now();
      const targets = (await devicesOf(tx.client, addressId)).filter((d) => d.state === 'active' && (includeGeneric || d.kind === 'device'));
      await revoke(tx.client, now, targets.map((d) => d.id));
      await bump(tx.client, addressId);
      await insertEvent(tx.client, {
        at: now, type: 'device.revoke-all', address, actor, detail: { devices: targets.map((d) => d.name), includeGeneric },
      });
      for (const device of targets) tx.journal.push({ address, deviceId: device.id, reason: 'device-revoked', cuts: true });
      // nothing was revoked, yet the generation moved: a node holding it must re-read
      if (targets.length === 0) tx.journal.push({ address, deviceId: null, reason: 'revoke-all-none', cuts: false });
      return targets.length;
    });
  }

  async importGeneric(address: string, salt: Buffer, scheme: string, hash: string, actor: string): Promise<ImportOutcome> {
    return this.#change(async (tx) => {
      const now = Date.now();
      const inserted = await tx.client.query<{ id: number }>(
        'INSERT INTO address (address, salt, created_at, created_by) VALUES ($1, $2, $3, $4) ON CONFLICT (address) DO NOTHING RETURNING id',
        [address, salt, now, actor],
      );
      let addressId: number;
      if (inserted.rows[0]) {
        addressId = inserted.rows[0].id;
        await insertEvent(tx.client, { at: now, type: 'address.add', address, actor });
      } else {
        const { rows } = await tx.client.query<{ id: number }>('SELECT id FROM address WHERE address = $1 FOR UPDATE', [address]);
        addressId = rows[0]!.id;
      }
      const existing = await genericOf(tx.client, addressId);
      if (existing?.state === 'revoked') return 'revoked';
      let outcome: 'imported' | 'replaced' = 'imported';
      let deviceId: number;
      if (existing) {
        const { rows } = await tx.client.query<{ scheme: string; hash: string }>(
          `SELECT legacy_scheme AS scheme, legacy_hash AS hash FROM credential WHERE device_id = $1 AND state = 'active'`,
          [existing.id],
        );
        const current = rows[0];
        // re-running the same import must not cut the sessions of clients using it
        if (current && current.scheme === scheme && current.hash === hash) return 'unchanged';
        deviceId = existing.id;
        await retire(tx.client, 'reset-away', now, [deviceId]);
        outcome = 'replaced';
      } else {
        const { rows } = await tx.client.query<{ id: number }>(
          `INSERT INTO device (address_id, kind, name, "user", scopes, state, created_at, created_by, expires_at)
            VALUES ($1, 'generic', 'generic', NULL, 'imap,smtp,pop3', 'active', $2, $3, NULL) RETURNING id`,
          [addressId, now, actor],
        );
        deviceId = rows[0]!.id;
      }
      await insertCredential(tx.client, addressId, deviceId, null, null, scheme, hash, now);
      await bump(tx.client, addressId);
      await insertEvent(tx.client, { at: now, type: 'generic.import', address, deviceId, deviceName: 'generic', actor, detail: { scheme, outcome } });
      tx.journal.push(outcome === 'replaced'
        ? { address, deviceId, reason: 'generic-replaced', cuts: true }
        : { address, deviceId, reason: 'generic-imported', cuts: false });
      return outcome;
    });
  }

  beginBulkImport(): Promise<BulkImport> {
    return PgBulkImport.begin(this.#pool, this.#afterChange);
  }

  async events(address: string | null, limit: number): Promise<StoredEvent[]> {
    // by time, not id: login results are written in batches after the admin changes around them
    const { rows } = address === null
      ? await this.#pool.query<EventRecord>('SELECT * FROM event ORDER BY at DESC, id DESC LIMIT $1', [limit])
      : await this.#pool.query<EventRecord>('SELECT * FROM event WHERE address = $1 ORDER BY at DESC, id DESC LIMIT $2', [address, limit]);
    return rows.reverse().map(toEvent);
  }

  async deviceExpiry(deviceId: number): Promise<number | null | undefined> {
    const { rows } = await this.#pool.query<{ expires_at: number | null }>('SELECT expires_at FROM device WHERE id = $1', [deviceId]);
    return rows.length === 0 ? undefined : rows[0]!.expires_at;
  }

  async settle(): Promise<void> {
    if (!this.#afterChange) return;
    const { rows } = await this.#pool.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM revocation');
    const seq = rows[0]?.seq ?? 0;
    if (seq > 0) await this.#afterChange(seq);
  }

  async purge(now: number, tombstoneRetentionMs: number, eventRetentionMs: number): Promise<{ tombstones: number; events: number }> {
    return this.#pool.transaction(async (client) => {
      const cutoff = now - tombstoneRetentionMs;
      const tombstones = (await client.query(`DELETE FROM credential WHERE state <> 'active' AND retired_at < $1`, [cutoff])).rowCount ?? 0;
      // a revoked generic stays: it is the marker that the address's legacy password was revoked for good
      await client.query(`DELETE FROM device WHERE state = 'revoked' AND kind = 'device' AND revoked_at < $1
        AND NOT EXISTS (SELECT 1 FROM credential c WHERE c.device_id = device.id)`, [cutoff]);
      const events = (await client.query('DELETE FROM event WHERE last_at < $1', [now - eventRetentionMs])).rowCount ?? 0;
      // the watermark tells a follower that had not read this far that it missed entries (journal-feed.ts)
      await client.query(`WITH gone AS (DELETE FROM revocation WHERE at < $1 RETURNING seq)
        UPDATE journal_purged SET through = GREATEST(through, (SELECT max(seq) FROM gone))`, [now - this.#journalRetentionMs]);
      return { tombstones, events };
    });
  }

  /** One change: see the module comment. */
  async #change<T>(body: (tx: Change) => Promise<T>): Promise<T> {
    const { result, seq } = await this.#pool.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock_shared($1)', [WRITE_LOCK_KEY]);
      const tx: Change = { client, journal: [] };
      const result = await body(tx);
      const seq = await writeJournal(client, tx.journal);
      return { result, seq };
    });
    if (seq > 0 && this.#afterChange) await this.#afterChange(seq);
    return result;
  }
}

/** A pooled client inside a transaction, or the pool itself for a read on its own. */
interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

async function lockAddress(client: pg.ClientBase, addressId: number): Promise<string> {
  const { rows } = await client.query<{ address: string }>('SELECT address FROM address WHERE id = $1 FOR UPDATE', [addressId]);
  if (!rows[0]) throw new Error(`no address with id ${addressId}`);
  return rows[0].address;
}

async function devicesOf(db: Queryable, addressId: number): Promise<DeviceRow[]> {
  const { rows } = await db.query<DeviceRecord>(`SELECT ${DEVICE_COLUMNS} FROM device WHERE address_id = $1 ORDER BY kind = 'device', id`, [addressId]);
  return rows.map(toDevice);
}

async function deviceOf(db: Queryable, addressId: number, deviceId: number): Promise<DeviceRow | undefined> {
  const { rows } = await db.query<DeviceRecord>(`SELECT ${DEVICE_COLUMNS} FROM device WHERE id = $1 AND address_id = $2`, [deviceId, addressId]);
  return rows[0] && toDevice(rows[0]);
}

export async function genericOf(db: Queryable, addressId: number): Promise<DeviceRow | undefined> {
  const { rows } = await db.query<DeviceRecord>(`SELECT ${DEVICE_COLUMNS} FROM device WHERE address_id = $1 AND kind = 'generic'`, [addressId]);
  return rows[0] && toDevice(rows[0]);
}

async function insertCredential(
  client: pg.ClientBase, addressId: number, deviceId: number, digest: Buffer | null, params: string | null,
  scheme: string | null, hash: string | null, now: number,
): Promise<void> {
  await client.query(
    `INSERT INTO credential (address_id, device_id, digest, params, legacy_scheme, legacy_hash, state, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, 'active', $7)`,
    [addressId, deviceId, digest, params, scheme, hash, now],
  );
}

async function retire(client: pg.ClientBase, state: 'reset-away' | 'revoked', now: number, deviceIds: number[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await client.query(`UPDATE credential SET state = $1, retired_at = $2 WHERE device_id = ANY($3::bigint[]) AND state = 'active'`, [state, now, deviceIds]);
}

async function revoke(client: pg.ClientBase, now: number, deviceIds: number[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await retire(client, 'revoked', now, deviceIds);
  await client.query(`UPDATE device SET state = 'revoked', revoked_at = $1 WHERE id = ANY($2::bigint[])`, [now, deviceIds]);
}

/** Every change to an address's credentials bumps its generation, which voids cached failures. */
async function bump(client: pg.ClientBase, addressId: number): Promise<void> {
  await client.query('UPDATE address SET generation = generation + 1 WHERE id = $1', [addressId]);
}

