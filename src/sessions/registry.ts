import type { Protocol } from '../auth/types.js';
import { Tally } from '../monitoring/tally.js';

export interface SessionInfo {
  address: string;
  deviceId: number;
  deviceName: string;
  protocol: Protocol;
  clientIp: string;
  clientName: string | null;
  since: number;
}

export interface LiveSession extends SessionInfo {
  id: number;
}

/** What a front gives the registry: how to end the session (IMAP `* BYE`, SMTP `421`). */
export type CloseSession = (reason: string) => void;

/** Told when a device gets its first live session here and when its last one ends. */
export interface DeviceWatch {
  active(deviceId: number): void;
  idle(deviceId: number): void;
}

/**
 * Every authenticated session, by device. Revocation goes store → registry →
 * fronts: the registry calls each session's close function and forgets it.
 * Closing must be idempotent on the front's side; the registry calls it once.
 */
export class SessionRegistry {
  readonly #sessions = new Map<number, { info: LiveSession; close: CloseSession }>();
  readonly #byDevice = new Map<number, Set<number>>();
  #nextId = 1;
  /** Sessions ended by the registry (revocation, reset, expiry…), by reason: read by /metrics. */
  readonly cuts = new Tally();
  #watch: DeviceWatch | null = null;

  watchDevices(watch: DeviceWatch): void {
    this.#watch = watch;
  }

  /** Returns the function that unregisters the session when it ends on its own. */
  register(info: SessionInfo, close: CloseSession): () => void {
    const id = this.#nextId++;
    this.#sessions.set(id, { info: { ...info, id }, close });
    let ids = this.#byDevice.get(info.deviceId);
    const first = !ids;
    if (!ids) this.#byDevice.set(info.deviceId, (ids = new Set()));
    ids.add(id);
    if (first) this.#watch?.active(info.deviceId);
    return () => this.#remove(id);
  }

  /** Closes the sessions of one device; returns how many. */
  closeDevice(deviceId: number, reason: string): number {
    const ids = [...(this.#byDevice.get(deviceId) ?? [])];
    for (const id of ids) this.#close(id, reason);
    return ids.length;
  }

  closeAddress(address: string, reason: string): number {
    const ids = [...this.#sessions.values()].filter((s) => s.info.address === address).map((s) => s.info.id);
    for (const id of ids) this.#close(id, reason);
    return ids.length;
  }

  /** Closes every session held here; returns how many. */
  closeAll(reason: string): number {
    const ids = [...this.#sessions.keys()];
    for (const id of ids) this.#close(id, reason);
    return ids.length;
  }

  list(address?: string): LiveSession[] {
    const all = [...this.#sessions.values()].map((s) => s.info);
    return address === undefined ? all : all.filter((s) => s.address === address);
  }

  get size(): number {
    return this.#sessions.size;
  }

  #close(id: number, reason: string): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    this.#remove(id);
    this.cuts.add(session.info.protocol, reason);
    session.close(reason);
  }

  #remove(id: number): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    this.#sessions.delete(id);
    const ids = this.#byDevice.get(session.info.deviceId);
    ids?.delete(id);
    if (ids?.size === 0) {
      this.#byDevice.delete(session.info.deviceId);
      this.#watch?.idle(session.info.deviceId);
    }
  }
}
