/**
 * The store as the rest of devicepass sees it, cut along its seams: the
 * reads a login makes, the administrative transactions, the audit sink, the
 * invitations and the revocation feed. A driver (SQLite embedded, PostgreSQL
 * for several nodes) implements these; nothing outside src/store knows which
 * one runs. See docs/design.md "Store drivers".
 */
import type { InvitationRow, NewInvitation } from './invitations.js';
import type {
  AddressRow,
  AuditEvent,
  BulkImport,
  CredentialView,
  DeviceRow,
  ImportOutcome,
  LegacyCredential,
  NewDevice,
  StoredEvent,
  UsageUpdate,
} from './types.js';

/** How long journal entries are kept: far beyond a tailer's poll, and the span a node may be cut off and still catch up by replay. */
export const JOURNAL_RETENTION_MS = 86_400_000;

/** A synchronous read that cannot vouch for its answer without a round trip: ask the asynchronous one. */
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Unknown = typeof UNKNOWN;

/**
 * What a login reads. The cold path (a hash is computed anyway) reads
 * asynchronously. A proof-cache hit first asks the `peek` reads, which answer
 * synchronously from what the driver can vouch for as current (SQLite: the
 * file itself; PostgreSQL: its mirror, while its lease holds) and UNKNOWN
 * otherwise.
 */
export interface LoginReads {
  findAddress(address: string): Promise<AddressRow | undefined>;
  addressGeneration(addressId: number): Promise<number | undefined>;
  credentialById(id: number): Promise<CredentialView | undefined>;
  credentialByDigest(addressId: number, digest: Buffer): Promise<CredentialView | undefined>;
  /** Parameter sets of the address's stored digests (normally just one). */
  digestParamSets(addressId: number): Promise<string[]>;
  /** Generic passwords not re-stored as a digest yet, the active one first, then its tombstones. */
  pendingLegacy(addressId: number): Promise<LegacyCredential[]>;
  /** An optimisation: may give up quietly (the write lock is elsewhere; a later login does it). */
  upgradeLegacy(credentialId: number, digest: Buffer, params: string): Promise<void>;

  peekAddress(address: string): AddressRow | undefined | Unknown;
  peekGeneration(addressId: number): number | undefined | Unknown;
  peekCredential(id: number): CredentialView | undefined | Unknown;

  /**
   * "As of now", for a decision that awaits reads: `changedSince(mark,
   * address)` then says whether a change to the address (or a lapse of what
   * the driver vouches for) was taken in since, so the decision is made
   * again rather than answered from a read that may predate it.
   */
  mark(): number;
  changedSince(mark: number, address: string): boolean;
}

/** Login records: written in batches, off the login path; a failure loses records, never a login. */
export interface AuditSink {
  appendEvents(events: readonly AuditEvent[]): Promise<void>;
  recordUsage(updates: readonly UsageUpdate[]): Promise<void>;
  /** Whether records should be dropped rather than written (the disk is short). */
  shedding(): boolean;
  /** Whether an error means "the store is busy, try the batch again later" rather than "it failed". */
  isBusy(err: unknown): boolean;
}

/**
 * Administrative changes. Each resolves once its change is durable and in
 * force everywhere the store is served from: with several nodes, once every
 * live node has taken it in (see RevocationFeed).
 */
export interface AdminStore {
  findAddress(address: string): Promise<AddressRow | undefined>;
  addAddress(address: string, salt: Buffer, actor: string): Promise<AddressRow>;
  listAddresses(): Promise<Array<AddressRow & { devices: number; generic: boolean }>>;
  removeAddress(addressId: number, actor: string): Promise<void>;
  listDevices(addressId: number): Promise<DeviceRow[]>;
  device(addressId: number, deviceId: number): Promise<DeviceRow | undefined>;
  genericDevice(addressId: number): Promise<DeviceRow | undefined>;
  activeDigestOwner(addressId: number, digest: Buffer): Promise<string | undefined>;
  addDevice(device: NewDevice): Promise<DeviceRow>;
  renameDevice(addressId: number, deviceId: number, name: string, actor: string): Promise<void>;
  resetDevice(addressId: number, deviceId: number, digest: Buffer, params: string, actor: string): Promise<void>;
  revokeDevice(addressId: number, deviceId: number, actor: string): Promise<void>;
  revokeAll(addressId: number, includeGeneric: boolean, actor: string): Promise<number>;
  /** Creates the address when absent. */
  importGeneric(address: string, salt: Buffer, scheme: string, hash: string, actor: string): Promise<ImportOutcome>;
  /** One transaction for many imports. */
  beginBulkImport(): Promise<BulkImport>;
  events(address: string | null, limit: number): Promise<StoredEvent[]>;
  /** The device's expiry (null: none); undefined when the device is gone. */
  deviceExpiry(deviceId: number): Promise<number | null | undefined>;
  /**
   * Resolves once every change committed so far is in force everywhere the
   * store is served from, as a change itself would before returning: for an
   * answer that a change was already made (a retry after a failure past its
   * commit must not return sooner than the change would have).
   */
  settle(): Promise<void>;
  /** Drops tombstones and events past their retention. */
  purge(now: number, tombstoneRetentionMs: number, eventRetentionMs: number): Promise<{ tombstones: number; events: number }>;
}

/** Invitation rows; the service in src/invitations decides what they mean. */
export interface InvitationRecords {
  create(invitation: NewInvitation): Promise<InvitationRow>;
  byTokenHash(tokenHash: Buffer): Promise<InvitationRow | undefined>;
  byId(addressId: number, id: number): Promise<InvitationRow | undefined>;
  list(addressId: number): Promise<InvitationRow[]>;
  /** Open → revoked; false when it was not open any more. */
  revoke(addressId: number, id: number, actor: string): Promise<boolean>;
  revokeOpen(addressId: number, actor: string, reason: string): Promise<number>;
  /** Only one caller ever gets true for one invitation. */
  claim(id: number, ip: string): Promise<boolean>;
  release(id: number): Promise<void>;
  completed(id: number, deviceId: number, deviceName: string): Promise<void>;
}

/** One change taken in from the journal, in sequence order. */
export interface JournalEntry {
  seq: number;
  address: string;
  /** null: every device of the address. */
  deviceId: number | null;
  reason: string;
  /** Whether the change ends the sessions it names (revoke, reset, removal) or only voids cached reads. */
  cuts: boolean;
}

/**
 * Changes made anywhere (another process, another node), delivered to this
 * process so it cuts the sessions it holds. Delivery is at least once:
 * closing a session twice is harmless.
 */
export interface RevocationFeed {
  onEntry(listener: (entry: JournalEntry) => void): void;
  /**
   * Told when entries were lost before this process read them (a journal
   * purged past what a long-disconnected node had read): which sessions they
   * would have cut is unknown, so every session held here must go.
   */
  onGap?(listener: () => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface StoreHealth {
  ok: boolean;
  detail: string;
}

export interface StoreDriver {
  readonly name: 'sqlite' | 'postgres';
  readonly reads: LoginReads;
  readonly admin: AdminStore;
  readonly audit: AuditSink;
  readonly invitations: InvitationRecords;
  readonly feed: RevocationFeed;
  /** Where the store lives, as logged and shown by `status` (a path, or a URL without its password). */
  readonly location: string;
  /** Synchronous, from the driver's last contact: what /healthz shows. */
  health(): StoreHealth;
  schemaVersion(): Promise<number>;
  /** Extra figures for `status` and /metrics. */
  stats(): Record<string, unknown>;
  /** A consistent copy of the store to FILE (a driver that cannot says how instead). */
  backup(file: string): Promise<unknown>;
  close(): Promise<void>;
}
