/**
 * Row shapes as pg returns them (bigint columns already numbers, see
 * PG_TYPES) and their mapping to the store's types: the same objects the
 * SQLite store hands up.
 */
import type { InvitationRow, InvitationState } from '../invitations.js';
import { toScopes } from '../rows.js';
import type { CredentialView, DeviceRow, Scope, StoredEvent } from '../types.js';

export { toAddress, toDevice, toScopes, type AddressRecord, type DeviceRecord } from '../rows.js';

export interface CredentialRecord {
  id: number; state: CredentialView['state']; retired_at: number | null; address_id: number; device_id: number;
  kind: DeviceRow['kind']; name: string; device_state: DeviceRow['state']; scopes: string; expires_at: number | null;
}
export interface EventRecord {
  id: number; at: number; last_at: number; count: number; type: string; address: string | null;
  device_id: number | null; device_name: string | null; reason: string | null; protocol: string | null;
  ip: string | null; client: string | null; actor: string | null; detail: Record<string, unknown> | null;
}
export interface InvitationRecord {
  id: number; address_id: number; address: string; name: string; user: string | null; scopes: string;
  device_expires: string | null; state: InvitationState; created_at: number; created_by: string | null;
  expires_at: number; used_at: number | null; used_ip: string | null; device_id: number | null; revoked_at: number | null;
}

export const ADDRESS_COLUMNS = 'id, address, salt, generation, created_at';

export const CREDENTIAL_SELECT = `SELECT
  c.id, c.state, c.retired_at, c.address_id, c.device_id,
  d.kind, d.name, d.state AS device_state, d.scopes, d.expires_at
  FROM credential c JOIN device d ON d.id = c.device_id`;

export function toCredential(row: CredentialRecord): CredentialView {
  return {
    id: row.id, state: row.state, retiredAt: row.retired_at, addressId: row.address_id, deviceId: row.device_id,
    deviceKind: row.kind, deviceName: row.name, deviceState: row.device_state, scopes: toScopes(row.scopes), expiresAt: row.expires_at,
  };
}

export function toEvent(row: EventRecord): StoredEvent {
  return {
    id: row.id, at: row.at, lastAt: row.last_at, count: row.count, type: row.type, address: row.address, deviceId: row.device_id,
    deviceName: row.device_name, reason: row.reason, protocol: row.protocol, ip: row.ip, client: row.client, actor: row.actor,
    detail: row.detail,
  };
}

export function toInvitation(row: InvitationRecord): InvitationRow {
  return {
    id: row.id, addressId: row.address_id, address: row.address, name: row.name, user: row.user,
    scopes: (row.scopes === '' ? [] : row.scopes.split(',')) as Scope[], deviceExpires: row.device_expires, state: row.state,
    createdAt: row.created_at, createdBy: row.created_by, expiresAt: row.expires_at, usedAt: row.used_at, usedIp: row.used_ip,
    deviceId: row.device_id, revokedAt: row.revoked_at,
  };
}
