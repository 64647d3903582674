/**
 * The schema in PostgreSQL: the same numbered migrations as SQLite's
 * (src/store/migrations.ts), translated, and then the ones only a shared
 * database needs. `schema_version` records the last one applied; whichever
 * node starts first applies the missing ones, each in its own transaction,
 * under an advisory lock the others wait on. Never edit a shipped migration:
 * add the next number.
 *
 * Types: ids are bigint identities from sequences (never reused, like SQLite's
 * AUTOINCREMENT: a cached proof names a credential id); times are bigint epoch
 * milliseconds, as in SQLite, so both drivers hand the same numbers up; BLOB
 * is bytea. `detail` is jsonb rather than text: the failure aggregates merge
 * their network lists inside the upsert (see audit.ts), which jsonb does
 * without re-parsing, and pg hands it up parsed. (jsonb keeps no key order
 * and no NUL characters: events.ts replaces NULs before writing.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

export const PG_MIGRATIONS: readonly string[] = [
  // 1: the credential model
  `
  CREATE TABLE address (
    id          bigserial PRIMARY KEY,
    address     text NOT NULL UNIQUE,
    salt        bytea NOT NULL,
    generation  bigint NOT NULL DEFAULT 1,
    created_at  bigint NOT NULL,
    created_by  text
  );

  CREATE TABLE device (
    id                  bigserial PRIMARY KEY,
    address_id          bigint NOT NULL REFERENCES address(id) ON DELETE CASCADE,
    kind                text NOT NULL CHECK (kind IN ('device', 'generic')),
    name                text NOT NULL,
    "user"              text,
    scopes              text NOT NULL,
    state               text NOT NULL CHECK (state IN ('active', 'revoked')),
    created_at          bigint NOT NULL,
    created_by          text,
    expires_at          bigint,
    revoked_at          bigint,
    last_used_at        bigint,
    last_used_protocol  text,
    last_used_ip        text,
    last_used_client    text
  );
  CREATE INDEX device_by_address ON device(address_id);
  -- one generic per address, ever: a revoked one stays as the marker that it was revoked for good
  CREATE UNIQUE INDEX device_one_generic ON device(address_id) WHERE kind = 'generic';

  CREATE TABLE credential (
    id             bigserial PRIMARY KEY,
    address_id     bigint NOT NULL REFERENCES address(id) ON DELETE CASCADE,
    device_id      bigint NOT NULL REFERENCES device(id) ON DELETE CASCADE,
    digest         bytea,
    params         text,
    legacy_scheme  text,
    legacy_hash    text,
    state          text NOT NULL CHECK (state IN ('active', 'reset-away', 'revoked')),
    created_at     bigint NOT NULL,
    retired_at     bigint
  );
  CREATE INDEX credential_by_digest ON credential(address_id, digest);
  CREATE INDEX credential_by_device ON credential(device_id);

  CREATE TABLE event (
    id           bigserial PRIMARY KEY,
    at           bigint NOT NULL,
    last_at      bigint NOT NULL,
    count        bigint NOT NULL DEFAULT 1,
    type         text NOT NULL,
    address      text,
    device_id    bigint,
    device_name  text,
    reason       text,
    protocol     text,
    ip           text,
    client       text,
    actor        text,
    detail       jsonb
  );
  CREATE INDEX event_by_address ON event(address, at);
  CREATE INDEX event_by_time ON event(at);

  -- append-only journal every node follows to cut the sessions it holds
  CREATE TABLE revocation (
    seq        bigserial PRIMARY KEY,
    at         bigint NOT NULL,
    address    text NOT NULL,
    device_id  bigint,
    reason     text NOT NULL
  );
  `,
  // 2: failure aggregates: one row per (window, address, reason, device), updated in place by later batches
  `
  ALTER TABLE event ADD COLUMN window_key text;
  CREATE UNIQUE INDEX event_by_window ON event(window_key) WHERE window_key IS NOT NULL;
  `,
  // 3: invitations: a one-time link that lets the address's owner create one device themselves
  `
  CREATE TABLE invitation (
    id              bigserial PRIMARY KEY,
    address_id      bigint NOT NULL REFERENCES address(id) ON DELETE CASCADE,
    -- SHA-256 of the link's token: the token itself is never stored
    token_hash      bytea NOT NULL UNIQUE,
    name            text NOT NULL,
    "user"          text,
    scopes          text NOT NULL,
    -- the device's expiry as the administrator wrote it ("7d" counts from the day of use), or null
    device_expires  text,
    state           text NOT NULL CHECK (state IN ('open', 'used', 'revoked')),
    created_at      bigint NOT NULL,
    created_by      text,
    expires_at      bigint NOT NULL,
    used_at         bigint,
    used_ip         text,
    device_id       bigint,
    revoked_at      bigint
  );
  CREATE INDEX invitation_by_address ON invitation(address_id);
  `,
  // 4: several nodes. The journal names every change that voids what a node may
  // hold in memory; cuts says whether it also ends sessions (revoke, reset,
  // removal, replaced generic) or only voids cached reads (device added or
  // renamed, generic imported). node: one row per live node and its lease.
  `
  ALTER TABLE revocation ADD COLUMN cuts boolean NOT NULL DEFAULT true;
  CREATE INDEX revocation_by_time ON revocation(at);
  CREATE TABLE node (
    id           text PRIMARY KEY,
    seq          bigint NOT NULL,
    lease_until  timestamptz NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    host         text
  );
  `,
  // 5: the journal purge watermark: the highest seq a purge has deleted. A follower that had not read that
  // far knows it missed entries; sequences have holes of their own, so this cannot be guessed from them.
  `
  CREATE TABLE journal_purged (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    through    bigint NOT NULL
  );
  INSERT INTO journal_purged (through) VALUES (0);
  `,
];

/** The advisory lock key migrations run under ("dpschema" in ASCII): one fixed key for every node. */
export const MIGRATION_LOCK_KEY = 0x6470736368656d61n;

export const SCHEMA_VERSION = PG_MIGRATIONS.length;

type Queryable = Pick<pg.ClientBase, 'query'>;

/** The applied version; 0 for a database devicepass never touched. */
export async function readSchemaVersion(db: Queryable): Promise<number> {
  const exists = await db.query<{ present: boolean }>(`SELECT to_regclass('schema_version') IS NOT NULL AS present`);
  if (!exists.rows[0]!.present) return 0;
  const row = await db.query<{ version: number }>('SELECT max(version) AS version FROM schema_version');
  return Number(row.rows[0]?.version ?? 0);
}

/** How often a node waiting for another node's migration tries the lock again. */
const LOCK_RETRY_MS = 100;
/**
 * The client-side deadline of a migration statement. A migration (an index
 * on a large table) takes as long as it takes: the pool's deadlines, sized
 * for logins and administrative writes, do not apply.
 */
const MIGRATION_STATEMENT_MS = 3_600_000;

export interface MigrateOptions {
  /** Called once if another node holds the migration lock and this one has to wait. */
  onWait?: () => void;
}

/**
 * Applies the missing migrations on one connection. Held under the advisory
 * lock from the first read of the version to the last migration, so two
 * nodes starting together apply each migration once; a database newer than
 * this devicepass is refused before anything is touched.
 *
 * The lock is tried, not waited on in one statement: the wait for another
 * node's migration may outlast any statement timeout, and each short try
 * still fails promptly when the database goes away. The migrations run with
 * the session's statement_timeout off (restored before returning).
 */
export async function migrate(client: pg.ClientBase, migrations: readonly string[] = PG_MIGRATIONS, options: MigrateOptions = {}): Promise<{ from: number; to: number }> {
  const run = (text: string, values?: unknown[]) =>
    // query_timeout per statement is read by pg's Client.query, though its QueryConfig type leaves it out
    client.query({ text, values, query_timeout: MIGRATION_STATEMENT_MS } as pg.QueryConfig);
  for (let waited = false; ; waited = true) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY.toString()]);
    if (rows[0]!.locked) break;
    if (!waited) options.onWait?.();
    await sleep(LOCK_RETRY_MS);
  }
  try {
    const from = await readSchemaVersion(client);
    if (from > migrations.length) {
      throw new Error(`database schema version ${from} is newer than this devicepass (${migrations.length}); upgrade devicepass`);
    }
    if (from < migrations.length) await client.query('SET statement_timeout = 0');
    for (let version = from + 1; version <= migrations.length; version++) {
      await run('BEGIN');
      try {
        await run(`CREATE TABLE IF NOT EXISTS schema_version (
          version     integer PRIMARY KEY,
          applied_at  timestamptz NOT NULL DEFAULT now()
        )`);
        await run(migrations[version - 1]!);
        await run('INSERT INTO schema_version (version) VALUES ($1)', [version]);
        await run('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }
    return { from, to: Math.max(from, migrations.length) };
  } finally {
    // back to the connection's own setting (the pool's statement timeout) before it serves anything else
    await client.query('RESET statement_timeout').catch(() => {});
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]).catch(() => {});
  }
}
