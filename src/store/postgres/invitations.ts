/**
 * Invitation rows in PostgreSQL, the same semantics as the SQLite
 * InvitationStore: each change one transaction with its audit event, lookups
 * by the token's hash only. A claim is one conditional UPDATE: PostgreSQL's
 * row lock makes a second claimant wait and then find the row no longer open.
 */
import type pg from 'pg';
import type { InvitationRecords } from '../driver.js';
import type { InvitationRow, NewInvitation } from '../invitations.js';
import { insertEvent } from './events.js';
import type { PgPool } from './pool.js';
import { toInvitation, type InvitationRecord } from './rows.js';

const SELECT = `SELECT i.id, i.address_id, i.name, i."user", i.scopes, i.device_expires, i.state, i.created_at, i.created_by,
  i.expires_at, i.used_at, i.used_ip, i.device_id, i.revoked_at, a.address
  FROM invitation i JOIN address a ON a.id = i.address_id`;

export interface PgInvitationRecordsOptions {
  now?: () => number;
}

export class PgInvitationRecords implements InvitationRecords {
  readonly #pool: PgPool;
  readonly #now: () => number;

  constructor(pool: PgPool, options: PgInvitationRecordsOptions = {}) {
    this.#pool = pool;
    this.#now = options.now ?? Date.now;
  }

  async create(invitation: NewInvitation): Promise<InvitationRow> {
    return this.#pool.transaction(async (client) => {
      const now = this.#now();
      const { rows: [inserted] } = await client.query<{ id: number }>(
        `INSERT INTO invitation (address_id, token_hash, name, "user", scopes, device_expires, state, created_at, created_by, expires_at)
          VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9) RETURNING id`,
        [invitation.addressId, invitation.tokenHash, invitation.name, invitation.user, invitation.scopes.join(','),
          invitation.deviceExpires, now, invitation.actor, invitation.expiresAt],
      );
      const { rows } = await client.query<InvitationRecord>(`${SELECT} WHERE i.id = $1`, [inserted!.id]);
      const row = toInvitation(rows[0]!);
      await insertEvent(client, {
        at: now, type: 'invite.create', address: row.address, deviceName: row.name, actor: invitation.actor,
        detail: { invitation: row.id, scopes: row.scopes, expires: new Date(row.expiresAt).toISOString(), user: row.user },
      });
      return row;
    });
  }

  async byTokenHash(tokenHash: Buffer): Promise<InvitationRow | undefined> {
    const { rows } = await this.#pool.query<InvitationRecord>({ name: 'dp_invitation_by_token', text: `${SELECT} WHERE i.token_hash = $1`, values: [tokenHash] });
    return rows[0] && toInvitation(rows[0]);
  }

  async byId(addressId: number, id: number): Promise<InvitationRow | undefined> {
    const { rows } = await this.#pool.query<InvitationRecord>(`${SELECT} WHERE i.id = $1 AND i.address_id = $2`, [id, addressId]);
    return rows[0] && toInvitation(rows[0]);
  }

  async list(addressId: number): Promise<InvitationRow[]> {
    const { rows } = await this.#pool.query<InvitationRecord>(`${SELECT} WHERE i.address_id = $1 ORDER BY i.id`, [addressId]);
    return rows.map(toInvitation);
  }

  async revoke(addressId: number, id: number, actor: string): Promise<boolean> {
    return this.#pool.transaction(async (client) => {
      const now = this.#now();
      const { rows } = await client.query<{ name: string }>(
        `UPDATE invitation SET state = 'revoked', revoked_at = $1 WHERE id = $2 AND address_id = $3 AND state = 'open' RETURNING name`,
        [now, id, addressId],
      );
      if (!rows[0]) return false;
      const address = await addressName(client, addressId);
      await insertEvent(client, { at: now, type: 'invite.revoke', address, deviceName: rows[0].name, actor, detail: { invitation: id } });
      return true;
    });
  }

  async revokeOpen(addressId: number, actor: string, reason: string): Promise<number> {
    return this.#pool.transaction(async (client) => {
      const now = this.#now();
      const { rows } = await client.query<{ id: number; name: string }>(
        `UPDATE invitation SET state = 'revoked', revoked_at = $1 WHERE address_id = $2 AND state = 'open' RETURNING id, name`,
        [now, addressId],
      );
      if (rows.length === 0) return 0;
      const address = await addressName(client, addressId);
      for (const invitation of rows.sort((a, b) => a.id - b.id)) {
        await insertEvent(client, {
          at: now, type: 'invite.revoke', address, deviceName: invitation.name, actor, reason, detail: { invitation: invitation.id },
        });
      }
      return rows.length;
    });
  }

  async claim(id: number, ip: string): Promise<boolean> {
    const now = this.#now();
    const result = await this.#pool.query(
      `UPDATE invitation SET state = 'used', used_at = $1, used_ip = $2 WHERE id = $3 AND state = 'open' AND expires_at > $1`,
      [now, ip, id],
    );
    return result.rowCount === 1;
  }

  async release(id: number): Promise<void> {
    await this.#pool.query(`UPDATE invitation SET state = 'open', used_at = NULL, used_ip = NULL WHERE id = $1 AND state = 'used' AND device_id IS NULL`, [id]);
  }

  async completed(id: number, deviceId: number, deviceName: string): Promise<void> {
    await this.#pool.transaction(async (client) => {
      const { rows } = await client.query<InvitationRecord>(
        `WITH done AS (UPDATE invitation SET device_id = $1 WHERE id = $2 RETURNING id) ${SELECT} WHERE i.id = (SELECT id FROM done)`,
        [deviceId, id],
      );
      const row = rows[0];
      if (!row) return;
      await insertEvent(client, {
        at: row.used_at ?? this.#now(), type: 'invite.use', address: row.address, deviceId, deviceName, ip: row.used_ip,
        actor: `invite:${id}`, detail: { invitation: id, invitedBy: row.created_by },
      });
    });
  }
}

async function addressName(client: pg.ClientBase, addressId: number): Promise<string> {
  const { rows } = await client.query<{ address: string }>('SELECT address FROM address WHERE id = $1', [addressId]);
  return rows[0]!.address;
}
