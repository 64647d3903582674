/**
 * Login records into PostgreSQL: audit events in batches (failure aggregates
 * merged by window_key, whichever node writes them) and each device's last
 * use, which only moves forward.
 */
import type { AuditSink } from '../driver.js';
import type { AuditEvent, UsageUpdate } from '../types.js';
import { insertEvents } from './events.js';
import type { PgPool } from './pool.js';

export interface PgAuditSinkOptions {
  /**
   * The event table holds at most about this many rows: past it, the oldest
   * login records are deleted as new ones are written (administrative events
   * are kept; they are few).
   */
  maxEvents: number;
}

/** Two nodes updating the same rows in another order can deadlock; the loser's batch is simply sent again. */
const DEADLOCK = '40P01';
const ATTEMPTS = 3;

export class PgAuditSink implements AuditSink {
  readonly #pool: PgPool;
  readonly #maxEvents: number;

  constructor(pool: PgPool, options: PgAuditSinkOptions) {
    this.#pool = pool;
    this.#maxEvents = options.maxEvents;
  }

  async appendEvents(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    await retryDeadlock(() => this.#pool.transaction(async (client) => {
      await insertEvents(client, events);
      // ids only grow, so the id range is the row count's upper bound: one index probe, no count(*)
      await client.query(`DELETE FROM event WHERE id <= (SELECT max(id) FROM event) - $1 AND type LIKE 'login.%'`, [this.#maxEvents]);
    }));
  }

  async recordUsage(updates: readonly UsageUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    // the latest use per device (an UPDATE … FROM joining one row twice would apply either), in id order
    const latest = new Map<number, UsageUpdate>();
    for (const update of updates) {
      const seen = latest.get(update.deviceId);
      if (!seen || seen.use.at <= update.use.at) latest.set(update.deviceId, update);
    }
    const rows = [...latest.values()].sort((a, b) => a.deviceId - b.deviceId);
    await retryDeadlock(() => this.#pool.query(
      `UPDATE device SET last_used_at = u.at, last_used_protocol = u.protocol, last_used_ip = u.ip, last_used_client = u.client
        FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) AS u(id, at, protocol, ip, client)
        WHERE device.id = u.id AND (device.last_used_at IS NULL OR device.last_used_at <= u.at)`,
      [
        rows.map((r) => r.deviceId), rows.map((r) => r.use.at), rows.map((r) => noNul(r.use.protocol)),
        rows.map((r) => noNul(r.use.ip)), rows.map((r) => (r.use.client === null ? null : noNul(r.use.client))),
      ],
    ));
  }

  /** PostgreSQL keeps no disk reserve of devicepass's: its own administrator watches its disk. */
  shedding(): boolean {
    return false;
  }

  isBusy(_err: unknown): boolean {
    return false;
  }
}

function noNul(text: string): string {
  return text.includes('\u0000') ? text.replace(/\u0000/g, '\uFFFD') : text;
}

async function retryDeadlock<T>(body: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await body();
    } catch (err) {
      if ((err as { code?: unknown }).code !== DEADLOCK || attempt >= ATTEMPTS) throw err;
    }
  }
}
