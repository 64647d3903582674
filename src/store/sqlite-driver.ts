/**
 * The embedded driver: the store interfaces over one SQLite file. Every call
 * runs synchronously on better-sqlite3 and hands back a settled promise, so
 * a decision that reads and a registration that follows it cannot be split
 * by a change made in this process, and the peek reads always answer: the
 * file is the truth, read by primary key on each proof-cache hit, whichever
 * process wrote it. Other processes' revocations arrive by polling the
 * journal table.
 */
import { backupDatabase } from './backup.js';
import { isBusy } from './busy.js';
import { schemaVersion } from './database.js';
import type {
  AdminStore,
  AuditSink,
  InvitationRecords,
  JournalEntry,
  LoginReads,
  RevocationFeed,
  StoreDriver,
  StoreHealth,
} from './driver.js';
import { InvitationStore, type NewInvitation } from './invitations.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { AuditEvent, NewDevice, UsageUpdate } from './types.js';

/** Runs a synchronous store call, handing its result or its error back as a settled promise. */
function settle<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err);
  }
}

export class SqliteLoginReads implements LoginReads {
  readonly #s: SqliteStore;
  constructor(store: SqliteStore) {
    this.#s = store;
  }
  findAddress(address: string) { return settle(() => this.#s.findAddress(address)); }
  addressGeneration(addressId: number) { return settle(() => this.#s.addressGeneration(addressId)); }
  credentialById(id: number) { return settle(() => this.#s.credentialById(id)); }
  credentialByDigest(addressId: number, digest: Buffer) { return settle(() => this.#s.credentialByDigest(addressId, digest)); }
  digestParamSets(addressId: number) { return settle(() => this.#s.digestParamSets(addressId)); }
  pendingLegacy(addressId: number) { return settle(() => this.#s.pendingLegacy(addressId)); }
  upgradeLegacy(credentialId: number, digest: Buffer, params: string) { return settle(() => this.#s.upgradeLegacy(credentialId, digest, params)); }
  peekAddress(address: string) { return this.#s.findAddress(address); }
  peekGeneration(addressId: number) { return this.#s.addressGeneration(addressId); }
  peekCredential(id: number) { return this.#s.credentialById(id); }
  // every read is of the file as it is now, and nothing runs between a read and the decision that uses it
  mark(): number { return 0; }
  changedSince(): boolean { return false; }
}

export class SqliteAdminStore implements AdminStore {
  readonly #s: SqliteStore;
  constructor(store: SqliteStore) {
    this.#s = store;
  }
  findAddress(address: string) { return settle(() => this.#s.findAddress(address)); }
  addAddress(address: string, salt: Buffer, actor: string) { return settle(() => this.#s.addAddress(address, salt, actor)); }
  listAddresses() { return settle(() => this.#s.listAddresses()); }
  removeAddress(addressId: number, actor: string) { return settle(() => this.#s.removeAddress(addressId, actor)); }
  listDevices(addressId: number) { return settle(() => this.#s.listDevices(addressId)); }
  device(addressId: number, deviceId: number) { return settle(() => this.#s.device(addressId, deviceId)); }
  genericDevice(addressId: number) { return settle(() => this.#s.genericDevice(addressId)); }
  activeDigestOwner(addressId: number, digest: Buffer) { return settle(() => this.#s.activeDigestOwner(addressId, digest)); }
  addDevice(device: NewDevice) { return settle(() => this.#s.addDevice(device)); }
  renameDevice(addressId: number, deviceId: number, name: string, actor: string) {
    return settle(() => this.#s.renameDevice(addressId, deviceId, name, actor));
  }
  resetDevice(addressId: number, deviceId: number, digest: Buffer, params: string, actor: string) {
    return settle(() => this.#s.resetDevice(addressId, deviceId, digest, params, actor));
  }
  revokeDevice(addressId: number, deviceId: number, actor: string) { return settle(() => this.#s.revokeDevice(addressId, deviceId, actor)); }
  revokeAll(addressId: number, includeGeneric: boolean, actor: string) { return settle(() => this.#s.revokeAll(addressId, includeGeneric, actor)); }
  importGeneric(address: string, salt: Buffer, scheme: string, hash: string, actor: string) {
    return settle(() => this.#s.importGeneric(address, salt, scheme, hash, actor));
  }
  beginBulkImport() { return this.#s.beginBulkImport(); }
  events(address: string | null, limit: number) { return settle(() => this.#s.events(address, limit)); }
  deviceExpiry(deviceId: number) { return settle(() => this.#s.deviceExpiry(deviceId)); }
  /** One file: a change is in force for every process the moment it commits (their sessions are cut by their journal poll). */
  settle(): Promise<void> {
    return Promise.resolve();
  }
  purge(now: number, tombstoneRetentionMs: number, eventRetentionMs: number) {
    return settle(() => this.#s.purge(now, tombstoneRetentionMs, eventRetentionMs));
  }
}

export class SqliteAuditSink implements AuditSink {
  readonly #s: SqliteStore;
  constructor(store: SqliteStore) {
    this.#s = store;
  }
  appendEvents(events: readonly AuditEvent[]) { return settle(() => this.#s.appendEvents(events)); }
  recordUsage(updates: readonly UsageUpdate[]) { return settle(() => this.#s.recordUsage(updates)); }
  shedding(): boolean { return this.#s.diskShort(); }
  isBusy(err: unknown): boolean { return isBusy(err); }
}

export class SqliteInvitationRecords implements InvitationRecords {
  readonly #i: InvitationStore;
  constructor(invitations: InvitationStore) {
    this.#i = invitations;
  }
  create(invitation: NewInvitation) { return settle(() => this.#i.create(invitation)); }
  byTokenHash(tokenHash: Buffer) { return settle(() => this.#i.byTokenHash(tokenHash)); }
  byId(addressId: number, id: number) { return settle(() => this.#i.byId(addressId, id)); }
  list(addressId: number) { return settle(() => this.#i.list(addressId)); }
  revoke(addressId: number, id: number, actor: string) { return settle(() => this.#i.revoke(addressId, id, actor)); }
  revokeOpen(addressId: number, actor: string, reason: string) { return settle(() => this.#i.revokeOpen(addressId, actor, reason)); }
  claim(id: number, ip: string) { return settle(() => this.#i.claim(id, ip)); }
  release(id: number) { return settle(() => this.#i.release(id)); }
  completed(id: number, deviceId: number, deviceName: string) { return settle(() => this.#i.completed(id, deviceId, deviceName)); }
}

/**
 * Follows the journal table so that a revoke written by another process (a
 * second daemon on the same file, a maintenance script) cuts the sessions
 * this process holds. Changes made through this process are seen here again
 * harmlessly (closing is idempotent).
 */
export class SqliteJournalFeed implements RevocationFeed {
  readonly #store: SqliteStore;
  readonly #intervalMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #listeners: Array<(entry: JournalEntry) => void> = [];
  #seq: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(store: SqliteStore, intervalMs: number, onError: (err: unknown) => void) {
    this.#store = store;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
    this.#seq = store.lastRevocationSeq();
  }

  onEntry(listener: (entry: JournalEntry) => void): void {
    this.#listeners.push(listener);
  }

  async start(): Promise<void> {
    this.#timer ??= setInterval(() => this.poll(), this.#intervalMs);
    this.#timer.unref();
  }

  poll(): void {
    try {
      for (const r of this.#store.revocationsSince(this.#seq)) {
        this.#seq = r.seq;
        const entry: JournalEntry = { seq: r.seq, address: r.address, deviceId: r.deviceId, reason: r.reason, cuts: true };
        for (const listener of this.#listeners) listener(entry);
      }
    } catch (err) {
      this.#onError(err);
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

export interface SqliteDriverOptions extends SqliteStoreOptions {
  file: string;
  /** How often the journal is read for other processes' revocations. */
  journalPollMs?: number;
  onJournalError?: (err: unknown) => void;
}

/** The SQLite driver, with the synchronous store underneath for the tests and tools that work on the file itself. */
export interface SqliteDriver extends StoreDriver {
  readonly name: 'sqlite';
  readonly store: SqliteStore;
}

/** Opens the file, applying migrations; synchronous, as everything on SQLite is. */
export function openSqliteDriver(options: SqliteDriverOptions): SqliteDriver {
  const store = new SqliteStore(options.file, options);
  const invitations = new SqliteInvitationRecords(new InvitationStore(store.database));
  const feed = new SqliteJournalFeed(store, options.journalPollMs ?? 50, options.onJournalError ?? (() => {}));
  return {
    name: 'sqlite',
    store,
    reads: new SqliteLoginReads(store),
    admin: new SqliteAdminStore(store),
    audit: new SqliteAuditSink(store),
    invitations,
    feed,
    location: options.file,
    health: () => writable(store),
    schemaVersion: () => settle(() => schemaVersion(store.database)),
    stats: () => ({ diskReserveHeld: store.reserveHeld }),
    backup: (file) => backupDatabase(store.database, file),
    close: async () => {
      await feed.stop();
      store.close();
    },
  };
}

/** The store takes a write lock: not read-only, not gone, not wedged (a lock held elsewhere past the busy timeout counts as failing). */
function writable(store: SqliteStore): StoreHealth {
  try {
    if (schemaVersion(store.database) < 1) return { ok: false, detail: 'no schema' };
    store.database.exec('BEGIN IMMEDIATE');
    store.database.exec('ROLLBACK');
    return { ok: true, detail: 'writable' };
  } catch (err) {
    return { ok: false, detail: (err as { code?: string }).code ?? (err as Error).message };
  }
}
