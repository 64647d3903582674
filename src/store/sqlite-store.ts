import type { Statement } from 'better-sqlite3';
import { JOURNAL_RETENTION_MS } from './driver.js';
import { openDatabase, type Db } from './database.js';
import { isBusy } from './busy.js';
import { SqliteBulkImport } from './bulk-import.js';
import { toAddress, toDevice, toScopes, type AddressRecord, type DeviceRecord } from './rows.js';
import { Checkpointer } from './checkpointer.js';
import { DiskReserve } from './disk-reserve.js';
import type {
  AddressRow,
  AuditEvent,
  BulkImport,
  CredentialStore,
  CredentialView,
  DeviceRow,
  ImportOutcome,
  LegacyCredential,
  NewDevice,
  Revocation,
  StoredEvent,
  UsageUpdate,
} from './types.js';

/* Raw row shapes as SQLite returns them. */
/** Credential reads are on the login path: array rows skip building a keyed object per read. */
type CredentialTuple = [
  id: number, state: CredentialView['state'], retiredAt: number | null, addressId: number, deviceId: number,
  kind: DeviceRow['kind'], name: string, deviceState: DeviceRow['state'], scopes: string, expiresAt: number | null,
];
interface EventRecord {
  id: number; at: number; last_at: number; count: number; type: string; address: string | null;
  device_id: number | null; device_name: string | null; reason: string | null; protocol: string | null;
  ip: string | null; client: string | null; actor: string | null; detail: string | null;
}

/** Client networks a merged failure aggregate lists (the recorder lists at most this many per process too). */
const MERGED_NETWORKS = 8;

const CREDENTIAL_SELECT = `SELECT
  c.id, c.state, c.retired_at, c.address_id, c.device_id,
  d.kind, d.name, d.state AS device_state, d.scopes, d.expires_at
  FROM credential c JOIN device d ON d.id = c.device_id`;

export interface SqliteStoreOptions {
  /**
   * The event table holds at most about this many rows: past it, the oldest
   * login records are deleted as new ones are written (administrative events
   * are kept; they are few).
   */
  maxEvents?: number;
  /** Bytes kept in reserve beside the database for administrative writes on a full disk; 0: none. */
  reserveBytes?: number;
  /** Told when an administrative write found the disk full, and whether the reserve let it through. */
  onDiskFull?: (outcome: 'reserve-released' | 'failed') => void;
  /**
   * Run WAL checkpoints in a worker thread every this many ms instead of
   * inside commits on the event loop (see Checkpointer); 0: SQLite's own
   * automatic checkpoint.
   */
  checkpointIntervalMs?: number;
  /** Told when a background checkpoint failed. */
  onCheckpointError?: (message: string) => void;
}

/** SQLite's "database or disk is full". */
export function isDiskFull(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_FULL';
}

const DEFAULT_MAX_EVENTS = 1_000_000;

/** The SQLite implementation of the store: prepared statements, one transaction per change. */
export class SqliteStore implements CredentialStore {
  readonly #db: Db;
  readonly #sql: ReturnType<typeof prepare>;
  readonly #file: string;
  readonly #maxEvents: number;
  readonly #reserve: DiskReserve | null;
  readonly #onDiskFull: (outcome: 'reserve-released' | 'failed') => void;
  readonly #checkpointer: Checkpointer | null;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.#file = file;
    this.#db = openDatabase(file);
    this.#sql = prepare(this.#db);
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.#reserve = file !== ':memory:' && (options.reserveBytes ?? 0) > 0 ? new DiskReserve(file, options.reserveBytes!) : null;
    this.#reserve?.ensure();
    this.#onDiskFull = options.onDiskFull ?? (() => {});
    const interval = file === ':memory:' ? 0 : options.checkpointIntervalMs ?? 0;
    this.#checkpointer = interval > 0 ? new Checkpointer(file, interval, options.onCheckpointError) : null;
    if (this.#checkpointer) this.#db.pragma('wal_autocheckpoint = 0');
  }

  /** Whether login records should be dropped rather than written: the disk is short (see DiskReserve). */
  diskShort(): boolean {
    try {
      return this.#reserve?.short() ?? false;
    } catch {
      return false; // cannot tell: let SQLite say
    }
  }

  /** Whether the disk reserve is in place (false while given back on a full disk). */
  get reserveHeld(): boolean | null {
    return this.#reserve ? this.#reserve.held : null;
  }

  /** For the cross-process tests and the benchmark: the raw handle. */
  get database(): Db {
    return this.#db;
  }

  addressGeneration(addressId: number): number | undefined {
    return this.#sql.generation.get(addressId) as number | undefined;
  }

  findAddress(address: string): AddressRow | undefined {
    const row = this.#sql.addressByName.get(address) as AddressRecord | undefined;
    return row && toAddress(row);
  }

  credentialById(id: number): CredentialView | undefined {
    const row = this.#sql.credentialById.get(id) as CredentialTuple | undefined;
    return row && toCredential(row);
  }

  credentialByDigest(addressId: number, digest: Buffer): CredentialView | undefined {
    const row = this.#sql.credentialByDigest.get(addressId, digest) as CredentialTuple | undefined;
    return row && toCredential(row);
  }

  digestParamSets(addressId: number): string[] {
    return (this.#sql.paramSets.all(addressId) as Array<{ params: string }>).map((r) => r.params);
  }

  pendingLegacy(addressId: number): LegacyCredential[] {
    return this.#sql.pendingLegacy.all(addressId) as LegacyCredential[];
  }

  upgradeLegacy(credentialId: number, digest: Buffer, params: string): void {
    try {
      this.#sql.upgradeLegacy.run(digest, params, credentialId);
    } catch (err) {
      // re-storing a generic as a digest is an optimisation: with the write lock elsewhere, a later login does it
      if (!isBusy(err)) throw err;
    }
  }

  deviceExpiry(deviceId: number): number | null | undefined {
    return this.#sql.deviceExpiry.get(deviceId) as number | null | undefined;
  }

  recordUsage(updates: readonly UsageUpdate[]): void {
    if (updates.length === 0) return;
    this.#batch(() => {
      for (const { deviceId, use } of updates) {
        this.#sql.recordUsage.run(use.at, use.protocol, use.ip, use.client, deviceId, use.at);
      }
    });
  }

  appendEvents(events: readonly AuditEvent[]): void {
    if (events.length === 0) return;
    this.#batch(() => {
      for (const event of events) this.#insertEvent(event);
      // ids only grow, so the id range is the row count's upper bound: one index probe, no count(*)
      this.#sql.pruneLoginEvents.run(this.#maxEvents);
    });
  }

  addAddress(address: string, salt: Buffer, actor: string): AddressRow {
    return this.#write(() => {
      const now = Date.now();
      const id = Number(this.#sql.insertAddress.run(address, salt, now, actor).lastInsertRowid);
      this.#insertEvent({ at: now, type: 'address.add', address, actor });
      return { id, address, salt, generation: 1, createdAt: now };
    });
  }

  listAddresses(): Array<AddressRow & { devices: number; generic: boolean }> {
    const rows = this.#sql.listAddresses.all() as Array<AddressRecord & { devices: number; generic: number }>;
    return rows.map((row) => ({ ...toAddress(row), devices: row.devices, generic: row.generic > 0 }));
  }

  removeAddress(addressId: number, actor: string): void {
    this.#write(() => {
      const address = this.#addressName(addressId);
      this.#journal(address, null, 'address-removed');
      this.#sql.deleteAddress.run(addressId);
      this.#insertEvent({ at: Date.now(), type: 'address.remove', address, actor });
    });
  }

  listDevices(addressId: number): DeviceRow[] {
    return (this.#sql.devicesOf.all(addressId) as DeviceRecord[]).map(toDevice);
  }

  device(addressId: number, deviceId: number): DeviceRow | undefined {
    const row = this.#sql.device.get(deviceId, addressId) as DeviceRecord | undefined;
    return row && toDevice(row);
  }

  genericDevice(addressId: number): DeviceRow | undefined {
    const row = this.#sql.genericOf.get(addressId) as DeviceRecord | undefined;
    return row && toDevice(row);
  }

  activeDigestOwner(addressId: number, digest: Buffer): string | undefined {
    const credential = this.credentialByDigest(addressId, digest);
    return credential && credential.state === 'active' && credential.deviceState === 'active' ? credential.deviceName : undefined;
  }

  addDevice(device: NewDevice): DeviceRow {
    return this.#write(() => {
      const now = Date.now();
      const id = Number(
        this.#sql.insertDevice.run(device.addressId, 'device', device.name, device.user, device.scopes.join(','), now, device.actor, device.expiresAt)
          .lastInsertRowid,
      );
      this.#sql.insertCredential.run(device.addressId, id, device.digest, device.params, null, null, now);
      this.#bump(device.addressId);
      this.#insertEvent({
        at: now, type: 'device.add', address: this.#addressName(device.addressId), deviceId: id, deviceName: device.name,
        actor: device.actor,
        detail: { user: device.user, scopes: device.scopes, expires: device.expiresAt === null ? null : new Date(device.expiresAt).toISOString() },
      });
      return this.device(device.addressId, id)!;
    });
  }

  renameDevice(addressId: number, deviceId: number, name: string, actor: string): void {
    this.#write(() => {
      const before = this.device(addressId, deviceId)!;
      this.#sql.renameDevice.run(name, deviceId);
      this.#insertEvent({
        at: Date.now(), type: 'device.rename', address: this.#addressName(addressId), deviceId, deviceName: name, actor,
        detail: { from: before.name },
      });
    });
  }

  resetDevice(addressId: number, deviceId: number, digest: Buffer, params: string, actor: string): void {
    this.#write(() => {
      const now = Date.now();
      this.#sql.retireCredentials.run('reset-away', now, deviceId);
      this.#sql.insertCredential.run(addressId, deviceId, digest, params, null, null, now);
      this.#bump(addressId);
      const address = this.#addressName(addressId);
      this.#journal(address, deviceId, 'device-reset');
      this.#insertEvent({ at: now, type: 'device.reset', address, deviceId, deviceName: this.device(addressId, deviceId)!.name, actor });
    });
  }

  revokeDevice(addressId: number, deviceId: number, actor: string): void {
    this.#write(() => {
      const now = Date.now();
      this.#revoke(addressId, deviceId, now);
      this.#bump(addressId);
      this.#insertEvent({
        at: now, type: 'device.revoke', address: this.#addressName(addressId), deviceId,
        deviceName: this.device(addressId, deviceId)!.name, actor,
      });
    });
  }

  revokeAll(addressId: number, includeGeneric: boolean, actor: string): number {
    return this.#write(() => {
      const now = Date.now();
      const targets = this.listDevices(addressId).filter((d) => d.state === 'active' && (includeGeneric || d.kind === 'device'));
      for (const device of targets) this.#revoke(addressId, device.id, now);
      this.#bump(addressId);
      this.#insertEvent({
        at: now, type: 'device.revoke-all', address: this.#addressName(addressId), actor,
        detail: { devices: targets.map((d) => d.name), includeGeneric },
      });
      return targets.length;
    });
  }

  importGeneric(address: string, salt: Buffer, scheme: string, hash: string, actor: string): ImportOutcome {
    return this.#write(() => this.importGenericInTransaction(address, salt, scheme, hash, actor));
  }

  /** importGeneric's work, for a caller that holds a transaction open on this connection (a bulk import). */
  importGenericInTransaction(address: string, salt: Buffer, scheme: string, hash: string, actor: string): ImportOutcome {
    const now = Date.now();
    let addressId = (this.#sql.addressByName.get(address) as AddressRecord | undefined)?.id;
    if (addressId === undefined) {
      addressId = Number(this.#sql.insertAddress.run(address, salt, now, actor).lastInsertRowid);
      this.#insertEvent({ at: now, type: 'address.add', address, actor });
    }
    const existing = this.genericDevice(addressId);
    if (existing?.state === 'revoked') return 'revoked';
    let outcome: 'imported' | 'replaced' = 'imported';
    let deviceId: number;
    if (existing) {
      const current = this.#sql.activeLegacyOf.get(existing.id) as { scheme: string; hash: string } | undefined;
      // re-running the same import must not cut the sessions of clients using it
      if (current && current.scheme === scheme && current.hash === hash) return 'unchanged';
      deviceId = existing.id;
      this.#sql.retireCredentials.run('reset-away', now, deviceId);
      this.#journal(address, deviceId, 'generic-replaced');
      outcome = 'replaced';
    } else {
      deviceId = Number(this.#sql.insertDevice.run(addressId, 'generic', 'generic', null, 'imap,smtp,pop3', now, actor, null).lastInsertRowid);
    }
    this.#sql.insertCredential.run(addressId, deviceId, null, null, scheme, hash, now);
    this.#bump(addressId);
    this.#insertEvent({ at: now, type: 'generic.import', address, deviceId, deviceName: 'generic', actor, detail: { scheme, outcome } });
    return outcome;
  }

  beginBulkImport(): Promise<BulkImport> {
    if (this.#file === ':memory:') throw new Error('a bulk import needs a database file');
    return SqliteBulkImport.begin(() => new SqliteStore(this.#file, { maxEvents: this.#maxEvents }), this.#file, () => this.#checkpointer?.soon());
  }

  events(address: string | null, limit: number): StoredEvent[] {
    const rows = (address === null ? this.#sql.eventsAll.all(limit) : this.#sql.eventsOf.all(address, limit)) as EventRecord[];
    return rows.reverse().map(toEvent);
  }

  revocationsSince(seq: number): Revocation[] {
    return (this.#sql.revocationsSince.all(seq) as Array<{ seq: number; at: number; address: string; device_id: number | null; reason: string }>).map(
      (r) => ({ seq: r.seq, at: r.at, address: r.address, deviceId: r.device_id, reason: r.reason }),
    );
  }

  lastRevocationSeq(): number {
    return (this.#sql.lastRevocation.get() as { seq: number | null }).seq ?? 0;
  }

  purge(now: number, tombstoneRetentionMs: number, eventRetentionMs: number): { tombstones: number; events: number } {
    return this.#write(() => {
      const cutoff = now - tombstoneRetentionMs;
      const tombstones = this.#sql.purgeCredentials.run(cutoff).changes;
      this.#sql.purgeDevices.run(cutoff);
      const events = this.#sql.purgeEvents.run(now - eventRetentionMs).changes;
      // the journal only has to outlive the slowest tailer's poll interval
      this.#sql.notePurgedJournal.run(now - JOURNAL_RETENTION_MS);
      this.#sql.purgeJournal.run(now - JOURNAL_RETENTION_MS);
      return { tombstones, events };
    });
  }

  close(): void {
    this.#checkpointer?.close();
    if (this.#db.open) this.#db.close();
  }

  /**
   * The batched login-path writes (audit rows, last use) commit without an
   * fsync: they survive a killed process, and a power cut costs at most the
   * last second of them — never an administrative change, which commits
   * with synchronous=FULL. Waiting for the disk here would stall every login.
   */
  #batch(body: () => void): void {
    this.#db.pragma('synchronous = NORMAL');
    try {
      this.#db.transaction(body)();
    } finally {
      this.#db.pragma('synchronous = FULL');
    }
  }

  /** BEGIN IMMEDIATE: take the write lock up front so a second process cannot interleave a read-then-write. */
  #write<T>(body: () => T): T {
    const transaction = this.#db.transaction(body);
    try {
      return transaction.immediate();
    } catch (err) {
      // a full disk: give the reserve back and try once more; an administrative change must not fail for want of a page
      if (!isDiskFull(err)) throw err;
      if (!this.#reserve?.release()) {
        this.#onDiskFull('failed');
        throw err;
      }
      this.#onDiskFull('reserve-released');
      try {
        return transaction.immediate();
      } catch (again) {
        if (isDiskFull(again)) this.#onDiskFull('failed');
        throw again;
      }
    }
  }

  #revoke(addressId: number, deviceId: number, now: number): void {
    this.#sql.retireCredentials.run('revoked', now, deviceId);
    this.#sql.revokeDevice.run(now, deviceId);
    this.#journal(this.#addressName(addressId), deviceId, 'device-revoked');
  }

  /** Every change to an address's credentials bumps its generation, which voids cached failures. */
  #bump(addressId: number): void {
    this.#sql.bumpGeneration.run(addressId);
  }

  #journal(address: string, deviceId: number | null, reason: string): void {
    this.#sql.insertRevocation.run(Date.now(), address, deviceId, reason);
  }

  #addressName(addressId: number): string {
    return (this.#sql.addressById.get(addressId) as { address: string }).address;
  }

  #insertEvent(e: AuditEvent): void {
    (e.windowKey === undefined ? this.#sql.insertEvent : this.#sql.mergeEvent).run(
      e.at, e.lastAt ?? e.at, e.count ?? 1, e.type, e.address, e.deviceId ?? null, e.deviceName ?? null, e.reason ?? null,
      e.protocol ?? null, e.ip ?? null, e.client ?? null, e.actor ?? null, e.detail ? JSON.stringify(e.detail) : null,
      ...(e.windowKey === undefined ? [] : [e.windowKey]),
    );
  }
}

function prepare(db: Db) {
  const q = (sql: string): Statement => db.prepare(sql);
  return {
    addressByName: q('SELECT id, address, salt, generation, created_at FROM address WHERE address = ?'),
    addressById: q('SELECT address FROM address WHERE id = ?'),
    generation: q('SELECT generation FROM address WHERE id = ?').pluck(),
    credentialById: q(`${CREDENTIAL_SELECT} WHERE c.id = ?`).raw(true),
    // an active row wins over a tombstone carrying the same digest (a password reused after a revoke)
    credentialByDigest: q(`${CREDENTIAL_SELECT}
      WHERE c.address_id = ? AND c.digest = ? ORDER BY (c.state = 'active') DESC, c.id DESC LIMIT 1`).raw(true),
    paramSets: q('SELECT DISTINCT params FROM credential WHERE address_id = ? AND params IS NOT NULL'),
    // bounded: each candidate costs a legacy hash on a failed login
    pendingLegacy: q(`SELECT id, legacy_scheme AS scheme, legacy_hash AS hash FROM credential
      WHERE address_id = ? AND digest IS NULL AND legacy_hash IS NOT NULL ORDER BY (state = 'active') DESC, id DESC LIMIT 3`),
    activeLegacyOf: q(`SELECT legacy_scheme AS scheme, legacy_hash AS hash FROM credential WHERE device_id = ? AND state = 'active'`),
    upgradeLegacy: q(`UPDATE credential SET digest = ?, params = ? WHERE id = ? AND state = 'active'`),
    recordUsage: q(`UPDATE device SET last_used_at = ?, last_used_protocol = ?, last_used_ip = ?, last_used_client = ?
      WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`),
    insertAddress: q('INSERT INTO address (address, salt, created_at, created_by) VALUES (?, ?, ?, ?)'),
    listAddresses: q(`SELECT a.id, a.address, a.salt, a.generation, a.created_at,
      (SELECT count(*) FROM device d WHERE d.address_id = a.id AND d.state = 'active' AND d.kind = 'device') AS devices,
      (SELECT count(*) FROM device d WHERE d.address_id = a.id AND d.state = 'active' AND d.kind = 'generic') AS generic
      FROM address a ORDER BY a.address`),
    deleteAddress: q('DELETE FROM address WHERE id = ?'),
    bumpGeneration: q('UPDATE address SET generation = generation + 1 WHERE id = ?'),
    devicesOf: q(`SELECT * FROM device WHERE address_id = ? ORDER BY kind = 'device', id`),
    device: q('SELECT * FROM device WHERE id = ? AND address_id = ?'),
    deviceExpiry: q('SELECT expires_at FROM device WHERE id = ?').pluck(),
    genericOf: q(`SELECT * FROM device WHERE address_id = ? AND kind = 'generic'`),
    insertDevice: q(`INSERT INTO device (address_id, kind, name, user, scopes, state, created_at, created_by, expires_at)
      VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?)`),
    insertCredential: q(`INSERT INTO credential (address_id, device_id, digest, params, legacy_scheme, legacy_hash, state, created_at)
      VALUES (?, ?, ?, ?, ?, ?, 'active', ?)`),
    renameDevice: q('UPDATE device SET name = ? WHERE id = ?'),
    retireCredentials: q(`UPDATE credential SET state = ?, retired_at = ? WHERE device_id = ? AND state = 'active'`),
    revokeDevice: q(`UPDATE device SET state = 'revoked', revoked_at = ? WHERE id = ?`),
    insertRevocation: q('INSERT INTO revocation (at, address, device_id, reason) VALUES (?, ?, ?, ?)'),
    revocationsSince: q('SELECT seq, at, address, device_id, reason FROM revocation WHERE seq > ? ORDER BY seq'),
    lastRevocation: q('SELECT max(seq) AS seq FROM revocation'),
    insertEvent: q(`INSERT INTO event (at, last_at, count, type, address, device_id, device_name, reason, protocol, ip, client, actor, detail)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    // a failure aggregate seen again (a later batch, another process): counts add up, networks merge, first seen first, capped
    mergeEvent: q(`INSERT INTO event (at, last_at, count, type, address, device_id, device_name, reason, protocol, ip, client, actor, detail, window_key)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (window_key) WHERE window_key IS NOT NULL DO UPDATE SET
        count = count + excluded.count,
        at = min(at, excluded.at),
        last_at = max(last_at, excluded.last_at),
        detail = json_set(coalesce(excluded.detail, '{}'),
          '$.networks', json((SELECT json_group_array(value) FROM (
            SELECT value FROM (
              SELECT value, 0 AS side, key FROM json_each(event.detail, '$.networks')
              UNION ALL SELECT value, 1, key FROM json_each(excluded.detail, '$.networks'))
            GROUP BY value ORDER BY min(side * 1000000 + key) LIMIT ${MERGED_NETWORKS}))),
          '$.moreNetworks', json(CASE
            WHEN json_extract(event.detail, '$.moreNetworks') OR json_extract(excluded.detail, '$.moreNetworks') THEN 'true'
            WHEN (SELECT count(DISTINCT value) FROM (
              SELECT value FROM json_each(event.detail, '$.networks')
              UNION ALL SELECT value FROM json_each(excluded.detail, '$.networks'))) > ${MERGED_NETWORKS} THEN 'true'
            ELSE 'false' END))`),
    pruneLoginEvents: q(`DELETE FROM event WHERE id <= (SELECT max(id) FROM event) - ? AND type LIKE 'login.%'`),
    // by time, not id: login results are written in batches after the admin changes around them
    eventsAll: q('SELECT * FROM event ORDER BY at DESC, id DESC LIMIT ?'),
    eventsOf: q('SELECT * FROM event WHERE address = ? ORDER BY at DESC, id DESC LIMIT ?'),
    purgeCredentials: q(`DELETE FROM credential WHERE state != 'active' AND retired_at < ?`),
    // a revoked generic stays: it is the marker that the address's legacy password was revoked for good
    purgeDevices: q(`DELETE FROM device WHERE state = 'revoked' AND kind = 'device' AND revoked_at < ?
      AND NOT EXISTS (SELECT 1 FROM credential c WHERE c.device_id = device.id)`),
    purgeEvents: q('DELETE FROM event WHERE last_at < ?'),
    purgeJournal: q('DELETE FROM revocation WHERE at < ?'),
    notePurgedJournal: q('UPDATE journal_purged SET through = max(through, coalesce((SELECT max(seq) FROM revocation WHERE at < ?), 0))'),
  };
}

function toCredential([id, state, retiredAt, addressId, deviceId, kind, name, deviceState, scopes, expiresAt]: CredentialTuple): CredentialView {
  return { id, state, retiredAt, addressId, deviceId, deviceKind: kind, deviceName: name, deviceState, scopes: toScopes(scopes), expiresAt };
}

function toEvent(row: EventRecord): StoredEvent {
  return {
    id: row.id, at: row.at, lastAt: row.last_at, count: row.count, type: row.type, address: row.address, deviceId: row.device_id,
    deviceName: row.device_name, reason: row.reason, protocol: row.protocol, ip: row.ip, client: row.client, actor: row.actor,
    detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
  };
}
