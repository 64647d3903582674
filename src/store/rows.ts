/**
 * Rows as both drivers read them (integer columns as numbers, scopes as a
 * comma-separated list) and their mapping to the store's types.
 */
import type { AddressRow, DeviceRow, Scope } from './types.js';

export interface AddressRecord { id: number; address: string; salt: Buffer; generation: number; created_at: number }
export interface DeviceRecord {
  id: number; address_id: number; kind: DeviceRow['kind']; name: string; user: string | null; scopes: string;
  state: DeviceRow['state']; created_at: number; created_by: string | null; expires_at: number | null;
  revoked_at: number | null; last_used_at: number | null; last_used_protocol: string | null;
  last_used_ip: string | null; last_used_client: string | null;
}

/** Scope lists are a handful of distinct strings: parse each once. */
const scopeLists = new Map<string, Scope[]>();
export function toScopes(text: string): Scope[] {
  let scopes = scopeLists.get(text);
  if (!scopes) {
    scopes = Object.freeze(text === '' ? [] : (text.split(',') as Scope[])) as Scope[];
    if (scopeLists.size < 64) scopeLists.set(text, scopes);
  }
  return scopes;
}

export function toAddress(row: AddressRecord): AddressRow {
  return { id: row.id, address: row.address, salt: row.salt, generation: row.generation, createdAt: row.created_at };
}

export function toDevice(row: DeviceRecord): DeviceRow {
  return {
    id: row.id, addressId: row.address_id, kind: row.kind, name: row.name, user: row.user, scopes: toScopes(row.scopes),
    state: row.state, createdAt: row.created_at, createdBy: row.created_by, expiresAt: row.expires_at, revokedAt: row.revoked_at,
    lastUse: row.last_used_at === null
      ? null
      : { at: row.last_used_at, protocol: row.last_used_protocol ?? '', ip: row.last_used_ip ?? '', client: row.last_used_client },
  };
}
