import type { Scope } from '../store/types.js';

export type Protocol = Scope;

/** What a front hands over: the credentials exactly as the client sent them, and who sent them. */
export interface LoginAttempt {
  address: string;
  password: string;
  protocol: Protocol;
  clientIp: string;
  /**
   * The transport vouches that the client is on a trusted network (its socket
   * address, or a PROXY header from a trusted proxy, is in trusted_networks):
   * no failure delay, no lockout. Decided by the front from what it knows of
   * the connection, never from a field the client (or a SASL peer) sends.
   */
  trusted: boolean;
  /** IMAP ID name, SMTP EHLO name, …: recorded as the device's last client. */
  clientName?: string | null;
}

/**
 * Why a login failed. The client is only ever told "authentication failed"
 * (or "try again later" for the temporary ones); the audit log keeps this.
 */
export type FailReason =
  | 'malformed' // not an address, empty or oversized password
  | 'unknown-address'
  | 'wrong-password'
  | 'revoked' // a revoked device still trying
  | 'reset-away' // the previous password of a device that was reset
  | 'expired'
  | 'scope' // right password, device not allowed for this protocol
  | 'generic-refused' // right generic password, but [auth] generic_protocols no longer allows it for this protocol
  | 'throttled' // the client network is out of hashes, or guessed too often at the address: temporary
  | 'busy' // hash queue full: temporary
  | 'internal'; // store or hashing failure: temporary

/**
 * Refusals that say nothing about the password: the client is told to try
 * again later, never that the password is wrong (which makes a mail client
 * ask its user for a new one).
 */
export const TEMPORARY_REASONS: ReadonlySet<FailReason> = new Set(['throttled', 'busy', 'internal']);

export interface LoginOk {
  ok: true;
  address: string;
  deviceId: number;
  deviceName: string;
  generic: boolean;
  /** True when a cached proof answered (no hash was computed). */
  cached: boolean;
}

export interface LoginFail {
  ok: false;
  reason: FailReason;
  /** Temporary failures ask the client to retry (IMAP [UNAVAILABLE], SMTP 454, SASL temp_fail). */
  temporary: boolean;
  address: string | null;
  deviceName: string | null;
  /** When the matched password was revoked or reset away: how long the device has been trying. */
  since: number | null;
  cached: boolean;
}

export type LoginResult = LoginOk | LoginFail;
