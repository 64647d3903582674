import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BUSY_TIMEOUT_MS } from './busy.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens the database file (creating its folder) in WAL mode with foreign keys
 * and applies pending migrations. synchronous=FULL makes every committed
 * administrative change durable before the command returns; login-path
 * writes are batched, so the fsync per batch costs nothing noticeable.
 */
export function openDatabase(file: string): Db {
  const fresh = file !== ':memory:' && !existsSync(file);
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  // digests and imported legacy hashes (some schemes are plaintext) are for the daemon's eyes only;
  // SQLite gives the -wal and -shm files the mode of the database file
  if (fresh) chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // opening is not serving yet: migrations may wait for another process's write lock
  db.pragma('busy_timeout = 5000');
  migrate(db);
  // serving: never sit on another connection's lock; writers retry asynchronously (see busy.ts)
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db): void {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this devicepass (${MIGRATIONS.length}); upgrade devicepass`);
  }
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version - 1]!);
      db.pragma(`user_version = ${version}`);
    }).immediate();
  }
}
