import { open } from 'node:fs/promises';
import { retryWhileBusy } from './busy.js';
import type { SqliteStore } from './sqlite-store.js';
import type { BulkImport, ImportOutcome } from './types.js';

/**
 * A passwd-file import as one transaction on a connection of its own, held
 * open across event-loop turns while the caller feeds it lines in slices:
 * all or nothing, a killed process included (SQLite discards a transaction
 * that never committed), and the process's own connection keeps reading the
 * last committed state meanwhile (WAL). The commit itself does not fsync on
 * the event loop: it commits with synchronous=NORMAL, then the WAL file is
 * fsynced on libuv's pool before the import is reported done.
 */
export class SqliteBulkImport implements BulkImport {
  readonly #store: SqliteStore;
  readonly #walFile: string;
  readonly #committed: () => void;
  #open = true;

  private constructor(store: SqliteStore, walFile: string, committed: () => void) {
    this.#store = store;
    this.#walFile = walFile;
    this.#committed = committed;
  }

  /** Opens the connection and takes the write lock, waiting for it without blocking. */
  static async begin(open: () => SqliteStore, databaseFile: string, committed: () => void): Promise<SqliteBulkImport> {
    const store = open();
    try {
      const db = store.database;
      db.pragma('synchronous = NORMAL');
      // the commit must not checkpoint the whole import on the event loop; the store's checkpointer does it
      db.pragma('wal_autocheckpoint = 0');
      // a smaller page cache spills to the WAL in smaller steps between slices
      db.pragma('cache_size = -2000');
      await retryWhileBusy(() => db.exec('BEGIN IMMEDIATE'));
      return new SqliteBulkImport(store, `${databaseFile}-wal`, committed);
    } catch (err) {
      store.close();
      throw err;
    }
  }

  importGeneric(address: string, salt: Buffer, scheme: string, hash: string, actor: string): ImportOutcome {
    return this.#store.importGenericInTransaction(address, salt, scheme, hash, actor);
  }

  async commit(): Promise<void> {
    const db = this.#store.database;
    try {
      db.exec('COMMIT');
      this.#open = false;
      const wal = await open(this.#walFile, 'r');
      try {
        await wal.datasync();
      } finally {
        await wal.close();
      }
      this.#committed();
    } finally {
      if (this.#open) this.rollback();
      this.#store.close();
    }
  }

  rollback(): void {
    if (!this.#open) return;
    this.#open = false;
    const db = this.#store.database;
    try {
      if (db.inTransaction) db.exec('ROLLBACK');
    } finally {
      this.#store.close();
    }
  }
}
