/**
 * What the store keeps, and the synchronous interface of the SQLite store.
 * The rest of devicepass uses the driver interfaces of driver.ts, which the
 * SQLite store is adapted to (sqlite-driver.ts) and PostgreSQL implements
 * (postgres/). The store knows SQL and nothing about protocols or hashing.
 */
export type Scope = 'imap' | 'smtp' | 'pop3';
export const SCOPES: readonly Scope[] = ['imap', 'smtp', 'pop3'];

export type DeviceKind = 'device' | 'generic';
export type DeviceState = 'active' | 'revoked';
/** reset-away: the previous password of a device that was reset. */
export type CredentialState = 'active' | 'reset-away' | 'revoked';

export interface AddressRow {
  id: number;
  address: string;
  salt: Buffer;
  generation: number;
  createdAt: number;
}

export interface LastUse {
  at: number;
  protocol: string;
  ip: string;
  client: string | null;
}

export interface DeviceRow {
  id: number;
  addressId: number;
  kind: DeviceKind;
  name: string;
  user: string | null;
  scopes: Scope[];
  state: DeviceState;
  createdAt: number;
  createdBy: string | null;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUse: LastUse | null;
}

/** One stored password and everything a login needs to judge it. */
export interface CredentialView {
  id: number;
  state: CredentialState;
  retiredAt: number | null;
  addressId: number;
  deviceId: number;
  deviceKind: DeviceKind;
  deviceName: string;
  deviceState: DeviceState;
  scopes: Scope[];
  expiresAt: number | null;
}

export interface LegacyCredential {
  id: number;
  scheme: string;
  hash: string;
}

export interface NewDevice {
  addressId: number;
  name: string;
  user: string | null;
  scopes: Scope[];
  expiresAt: number | null;
  digest: Buffer;
  params: string;
  actor: string;
}

export interface AuditEvent {
  at: number;
  type: string;
  address: string | null;
  deviceId?: number | null;
  deviceName?: string | null;
  reason?: string | null;
  protocol?: string | null;
  ip?: string | null;
  client?: string | null;
  actor?: string | null;
  detail?: Record<string, unknown> | null;
  /** Identical login results inside one flush window are stored once with a count. */
  count?: number;
  lastAt?: number;
  /**
   * A failure aggregate's identity: rows with the same key are one row, the
   * counts added and the client networks (detail.networks) merged, whichever
   * process writes them.
   */
  windowKey?: string;
}

export interface StoredEvent extends Required<Omit<AuditEvent, 'detail' | 'count' | 'lastAt' | 'windowKey'>> {
  id: number;
  detail: Record<string, unknown> | null;
  count: number;
  lastAt: number;
}

export interface Revocation {
  seq: number;
  at: number;
  address: string;
  /** null: every device of the address. */
  deviceId: number | null;
  reason: string;
}

/** revoked: the address's generic was revoked for good and stays so. */
export type ImportOutcome = 'imported' | 'replaced' | 'unchanged' | 'revoked';

export interface BulkImport {
  /** Synchronous on SQLite (the import runs in slices on the event loop), a round trip on a shared database. */
  importGeneric(address: string, salt: Buffer, scheme: string, hash: string, actor: string): ImportOutcome | Promise<ImportOutcome>;
  /** Resolves once the whole import is committed and on disk. */
  commit(): Promise<void>;
  rollback(): void | Promise<void>;
}

export interface UsageUpdate {
  deviceId: number;
  use: LastUse;
}

export interface CredentialStore {
  // --- the login path: prepared statements, primary-key or unique-index reads
  findAddress(address: string): AddressRow | undefined;
  addressGeneration(addressId: number): number | undefined;
  credentialById(id: number): CredentialView | undefined;
  credentialByDigest(addressId: number, digest: Buffer): CredentialView | undefined;
  /** Parameter sets of the address's stored digests (normally just one). */
  digestParamSets(addressId: number): string[];
  /**
   * Generic passwords not re-stored as a digest yet, the active one first,
   * then its tombstones (so a revoked generic is still named in the log).
   */
  pendingLegacy(addressId: number): LegacyCredential[];
  upgradeLegacy(credentialId: number, digest: Buffer, params: string): void;
  recordUsage(updates: readonly UsageUpdate[]): void;
  /** The device's expiry (null: none); undefined when the device is gone. */
  deviceExpiry(deviceId: number): number | null | undefined;
  appendEvents(events: readonly AuditEvent[]): void;

  // --- administration: each call is one durable transaction with its audit event
  addAddress(address: string, salt: Buffer, actor: string): AddressRow;
  listAddresses(): Array<AddressRow & { devices: number; generic: boolean }>;
  removeAddress(addressId: number, actor: string): void;
  listDevices(addressId: number): DeviceRow[];
  device(addressId: number, deviceId: number): DeviceRow | undefined;
  genericDevice(addressId: number): DeviceRow | undefined;
  activeDigestOwner(addressId: number, digest: Buffer): string | undefined;
  addDevice(device: NewDevice): DeviceRow;
  renameDevice(addressId: number, deviceId: number, name: string, actor: string): void;
  resetDevice(addressId: number, deviceId: number, digest: Buffer, params: string, actor: string): void;
  revokeDevice(addressId: number, deviceId: number, actor: string): void;
  revokeAll(addressId: number, includeGeneric: boolean, actor: string): number;
  /** Creates the address when absent. */
  importGeneric(address: string, salt: Buffer, scheme: string, hash: string, actor: string): ImportOutcome;
  /** One transaction for many imports, on a connection of its own; see SqliteBulkImport. */
  beginBulkImport(): Promise<BulkImport>;
  events(address: string | null, limit: number): StoredEvent[];
  revocationsSince(seq: number): Revocation[];
  lastRevocationSeq(): number;
  /** Drops tombstones and events past their retention. */
  purge(now: number, tombstoneRetentionMs: number, eventRetentionMs: number): { tombstones: number; events: number };
  close(): void;
}
