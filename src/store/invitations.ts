import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';
import type { AuditEvent, Scope } from './types.js';

export type InvitationState = 'open' | 'used' | 'revoked';

export interface InvitationRow {
  id: number;
  addressId: number;
  address: string;
  name: string;
  user: string | null;
  scopes: Scope[];
  /** The device's expiry as written when inviting ("7d" counts from the day of use, or an ISO date). */
  deviceExpires: string | null;
  state: InvitationState;
  createdAt: number;
  createdBy: string | null;
  expiresAt: number;
  usedAt: number | null;
  usedIp: string | null;
  deviceId: number | null;
  revokedAt: number | null;
}

export interface NewInvitation {
  addressId: number;
  tokenHash: Buffer;
  name: string;
  user: string | null;
  scopes: Scope[];
  deviceExpires: string | null;
  expiresAt: number;
  actor: string;
}

interface InvitationRecord {
  id: number; address_id: number; address: string; name: string; user: string | null; scopes: string;
  device_expires: string | null; state: InvitationState; created_at: number; created_by: string | null;
  expires_at: number; used_at: number | null; used_ip: string | null; device_id: number | null; revoked_at: number | null;
}

const SELECT = 'SELECT i.*, a.address FROM invitation i JOIN address a ON a.id = i.address_id';

/**
 * Invitations in the same SQLite database as the credentials, each change one
 * transaction together with its audit event. Lookups are by the token's hash
 * only; the token never reaches the database.
 */
export class InvitationStore {
  readonly #db: Db;
  readonly #sql: ReturnType<typeof prepare>;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#sql = prepare(db);
    this.#now = now;
  }

  create(invitation: NewInvitation): InvitationRow {
    return this.#write(() => {
      const now = this.#now();
      const id = Number(this.#sql.insert.run(
        invitation.addressId, invitation.tokenHash, invitation.name, invitation.user, invitation.scopes.join(','),
        invitation.deviceExpires, now, invitation.actor, invitation.expiresAt,
      ).lastInsertRowid);
      const row = this.byId(invitation.addressId, id)!;
      this.#event({
        at: now, type: 'invite.create', address: row.address, deviceName: row.name, actor: invitation.actor,
        detail: { invitation: id, scopes: row.scopes, expires: new Date(row.expiresAt).toISOString(), user: row.user },
      });
      return row;
    });
  }

  byTokenHash(tokenHash: Buffer): InvitationRow | undefined {
    const row = this.#sql.byToken.get(tokenHash) as InvitationRecord | undefined;
    return row && toInvitation(row);
  }

  byId(addressId: number, id: number): InvitationRow | undefined {
    const row = this.#sql.byId.get(id, addressId) as InvitationRecord | undefined;
    return row && toInvitation(row);
  }

  list(addressId: number): InvitationRow[] {
    return (this.#sql.list.all(addressId) as InvitationRecord[]).map(toInvitation);
  }

  /** Open → revoked; false when it was not open any more. */
  revoke(addressId: number, id: number, actor: string): boolean {
    return this.#write(() => {
      const now = this.#now();
      if (this.#sql.revoke.run(now, id, addressId).changes !== 1) return false;
      const row = this.byId(addressId, id)!;
      this.#event({ at: now, type: 'invite.revoke', address: row.address, deviceName: row.name, actor, detail: { invitation: id } });
      return true;
    });
  }

  /** Voids every open invitation of the address (all its devices were revoked); returns how many. */
  revokeOpen(addressId: number, actor: string, reason: string): number {
    return this.#write(() => {
      const now = this.#now();
      const open = this.list(addressId).filter((i) => i.state === 'open');
      for (const invitation of open) {
        this.#sql.revoke.run(now, invitation.id, addressId);
        this.#event({
          at: now, type: 'invite.revoke', address: invitation.address, deviceName: invitation.name, actor, reason,
          detail: { invitation: invitation.id },
        });
      }
      return open.length;
    });
  }

  /**
   * Takes an open, unexpired invitation for one redemption: only one caller
   * ever gets true, however many submit the same link at once.
   */
  claim(id: number, ip: string): boolean {
    const now = this.#now();
    return this.#write(() => this.#sql.claim.run(now, ip, id, now).changes === 1);
  }

  /** Gives back a claim whose device could not be made (a refused password): the link stays usable. */
  release(id: number): void {
    this.#write(() => this.#sql.release.run(id));
  }

  /** Records which device came of the invitation, with the audit event naming the network it was used from. */
  completed(id: number, deviceId: number, deviceName: string): void {
    this.#write(() => {
      this.#sql.complete.run(deviceId, id);
      const row = this.#sql.byIdOnly.get(id) as InvitationRecord;
      this.#event({
        at: row.used_at ?? this.#now(), type: 'invite.use', address: row.address, deviceId, deviceName, ip: row.used_ip,
        actor: `invite:${id}`, detail: { invitation: id, invitedBy: row.created_by },
      });
    });
  }

  #write<T>(body: () => T): T {
    return this.#db.transaction(body).immediate();
  }

  #event(e: AuditEvent): void {
    this.#sql.event.run(
      e.at, e.at, e.type, e.address, e.deviceId ?? null, e.deviceName ?? null, e.reason ?? null, e.ip ?? null,
      e.actor ?? null, e.detail ? JSON.stringify(e.detail) : null,
    );
  }
}

function prepare(db: Db) {
  const q = (sql: string): Statement => db.prepare(sql);
  return {
    insert: q(`INSERT INTO invitation (address_id, token_hash, name, user, scopes, device_expires, state, created_at, created_by, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)`),
    byToken: q(`${SELECT} WHERE i.token_hash = ?`),
    byId: q(`${SELECT} WHERE i.id = ? AND i.address_id = ?`),
    byIdOnly: q(`${SELECT} WHERE i.id = ?`),
    list: q(`${SELECT} WHERE i.address_id = ? ORDER BY i.id`),
    revoke: q(`UPDATE invitation SET state = 'revoked', revoked_at = ? WHERE id = ? AND address_id = ? AND state = 'open'`),
    claim: q(`UPDATE invitation SET state = 'used', used_at = ?, used_ip = ? WHERE id = ? AND state = 'open' AND expires_at > ?`),
    release: q(`UPDATE invitation SET state = 'open', used_at = NULL, used_ip = NULL WHERE id = ? AND state = 'used' AND device_id IS NULL`),
    complete: q('UPDATE invitation SET device_id = ? WHERE id = ?'),
    event: q(`INSERT INTO event (at, last_at, type, address, device_id, device_name, reason, ip, actor, detail)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  };
}

function toInvitation(row: InvitationRecord): InvitationRow {
  return {
    id: row.id, addressId: row.address_id, address: row.address, name: row.name, user: row.user,
    scopes: (row.scopes === '' ? [] : row.scopes.split(',')) as Scope[], deviceExpires: row.device_expires, state: row.state,
    createdAt: row.created_at, createdBy: row.created_by, expiresAt: row.expires_at, usedAt: row.used_at, usedIp: row.used_ip,
    deviceId: row.device_id, revokedAt: row.revoked_at,
  };
}
