/**
 * The PostgreSQL store driver: several devicepass nodes on one database.
 * Opening it migrates the schema (once, under an advisory lock, by whichever
 * node gets there first) and composes the pool, the login reads, the
 * administrative store, the audit sink, the invitations and the journal feed.
 * The cluster layer (leases, acknowledgements, the in-memory mirror) wraps
 * what this returns.
 */
import { DevicepassError } from '../../errors/catalogue.js';
import type { Logger } from '../../log/logger.js';
import type { StoreDriver, StoreHealth } from '../driver.js';
import { PgAdminStore } from './admin.js';
import { PgAuditSink } from './audit.js';
import { PgInvitationRecords } from './invitations.js';
import { PgJournalFeed } from './journal-feed.js';
import { PgPool, type NamedQuery, type PgPoolOptions } from './pool.js';
import { PgLoginReads } from './reads.js';
import { migrate, readSchemaVersion } from './schema.js';

export interface PostgresDriverOptions {
  /** `[store] url`; parts left out come from the PG* environment variables. */
  url: string;
  /** See PgAuditSinkOptions.maxEvents. */
  maxEvents: number;
  log: Logger;
  pool?: Omit<PgPoolOptions, 'url'>;
  /** See PgAdminStoreOptions.afterChange. */
  afterChange?: (seq: number) => Promise<void>;
  /** See PgJournalFeedOptions. */
  feed?: { url?: string; fromSeq?: number; pollIntervalMs?: number; backoffMs?: { first: number; cap: number }; readTimeoutMs?: number; fallbackIntervalMs?: number };
  journalRetentionMs?: number;
}

export interface PostgresDriver extends StoreDriver {
  readonly name: 'postgres';
  readonly reads: PgLoginReads;
  readonly admin: PgAdminStore;
  readonly audit: PgAuditSink;
  readonly invitations: PgInvitationRecords;
  readonly feed: PgJournalFeed;
  readonly pool: PgPool;
}

export async function openPostgresDriver(options: PostgresDriverOptions): Promise<PostgresDriver> {
  const pool = new PgPool({ url: options.url, ...options.pool });
  try {
    const client = await pool.connect();
    try {
      const { from, to } = await migrate(client, undefined, {
        onWait: () => options.log.info({ store: pool.location }, 'another node is migrating the PostgreSQL schema; waiting for it'),
      });
      if (from !== to) options.log.info({ from, to, store: pool.location }, 'PostgreSQL schema migrated');
    } catch (err) {
      throw pool.mapError(err);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const feed = new PgJournalFeed({
    url: options.url, log: options.log, ...options.feed, connectionTimeoutMs: options.pool?.connectionTimeoutMs,
    // while the feed's own connection is down, the journal is read through the pool (it may take another way)
    fallback: (query) => pool.query(query as NamedQuery),
  });
  let closed = false;
  let feedStarted = false;
  feed.onConnectionChange((up) => {
    if (up) feedStarted = true;
  });
  return {
    name: 'postgres',
    location: pool.location,
    pool,
    reads: new PgLoginReads(pool),
    admin: new PgAdminStore(pool, { afterChange: options.afterChange, journalRetentionMs: options.journalRetentionMs }),
    audit: new PgAuditSink(pool, { maxEvents: options.maxEvents }),
    invitations: new PgInvitationRecords(pool),
    feed,
    health(): StoreHealth {
      const last = pool.health;
      if (!last.ok) return { ok: false, detail: last.detail };
      // started and cut off: changes made elsewhere are not reaching this node
      if (feedStarted && !feed.connected) return { ok: false, detail: `journal feed disconnected from ${pool.location}; reconnecting` };
      return { ok: true, detail: last.detail };
    },
    async schemaVersion(): Promise<number> {
      const client = await pool.connect();
      try {
        return await readSchemaVersion(client);
      } catch (err) {
        throw pool.mapError(err);
      } finally {
        client.release();
      }
    },
    stats(): Record<string, unknown> {
      return { ...pool.stats(), journalSeq: feed.appliedSeq, journalConnected: feed.connected };
    },
    backup(_file: string): Promise<unknown> {
      return Promise.reject(new DevicepassError(
        'REQUEST_INVALID',
        `the store is PostgreSQL (${pool.location}): back it up with pg_dump (e.g. pg_dump -Fc -f devicepass.dump DBNAME), not with devicepass backup`,
      ));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await feed.stop();
      await pool.end();
    },
  };
}

export { maskUrl, StoreUnavailableError, isUnavailable, PgPool } from './pool.js';
export { PgJournalFeed } from './journal-feed.js';
export { PgAdminStore } from './admin.js';
export { PgLoginReads } from './reads.js';
export { PgAuditSink } from './audit.js';
export { PgInvitationRecords } from './invitations.js';
export { PG_MIGRATIONS, SCHEMA_VERSION, migrate } from './schema.js';
