import { renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DevicepassError } from '../errors/catalogue.js';
import type { Db } from './database.js';

export interface BackupResult {
  file: string;
  bytes: number;
}

/**
 * A consistent copy of the live database through SQLite's online backup:
 * page by page between event-loop turns, so logins go on while it runs, into
 * a temporary file next to the target that is checked and then renamed over
 * it, so FILE is always either the previous backup or a complete new one.
 */
export async function backupDatabase(db: Db, target: string): Promise<BackupResult> {
  if (!path.isAbsolute(target)) throw new DevicepassError('REQUEST_INVALID', 'the backup file must be an absolute path');
  const temporary = `${target}.partial-${process.pid}`;
  try {
    await db.backup(temporary);
    const copy = new Database(temporary, { fileMustExist: true });
    try {
      // the copy inherits WAL mode; one self-contained file is what a backup should be
      copy.pragma('journal_mode = DELETE');
      const verdict = copy.pragma('quick_check', { simple: true });
      if (verdict !== 'ok') throw new Error(`the copy failed its check: ${String(verdict)}`);
    } finally {
      copy.close();
    }
    renameSync(temporary, target);
  } catch (err) {
    for (const file of [temporary, `${temporary}-wal`, `${temporary}-shm`]) rmSync(file, { force: true });
    if (err instanceof DevicepassError) throw err;
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new DevicepassError('BACKUP_FAILED', `could not write ${target}: ${reason}`);
  }
  return { file: target, bytes: statSync(target).size };
}
