import { closeSync, existsSync, fsyncSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

const CHUNK = Buffer.alloc(1024 * 1024);
/** How long a free-space reading is trusted: one statfs a second at most. */
const FREE_SPACE_TTL_MS = 1000;
/** How often a released reserve is tried again. */
const RESTORE_INTERVAL_MS = 10_000;

/**
 * Space set aside on the database's filesystem so that administrative writes
 * (a revocation above all) still find room when the disk is full: a file of
 * `bytes` real, zero-filled blocks beside the database. When a write fails
 * with SQLITE_FULL the store deletes the file, which gives its blocks back,
 * and tries once more. While the reserve is given back, or free space is
 * below one reserve's worth, the disk counts as short and login records are
 * dropped before they are written. Every process sharing the database shares
 * the one file; whichever finds enough room again re-creates it.
 */
export class DiskReserve {
  readonly #file: string;
  readonly #bytes: number;
  readonly #now: () => number;
  #free: { bytes: number; at: number } | null = null;
  #lastRestore = 0;

  constructor(databaseFile: string, bytes: number, now: () => number = Date.now) {
    this.#file = `${databaseFile}-reserve`;
    this.#bytes = bytes;
    this.#now = now;
  }

  get file(): string {
    return this.#file;
  }

  get held(): boolean {
    return existsSync(this.#file);
  }

  /** Creates the reserve when absent and there is room for it and as much again; returns whether it is held. */
  ensure(): boolean {
    if (this.held) return true;
    this.#lastRestore = this.#now();
    if (this.#freeBytes(true) < 2 * this.#bytes) return false;
    let fd: number;
    try {
      fd = openSync(this.#file, 'wx', 0o600);
    } catch {
      return this.held; // another process is making it
    }
    try {
      for (let written = 0; written < this.#bytes; written += CHUNK.length) {
        writeSync(fd, CHUNK, 0, Math.min(CHUNK.length, this.#bytes - written));
      }
      fsyncSync(fd);
      closeSync(fd);
      return true;
    } catch {
      closeSync(fd);
      unlinkSync(this.#file);
      return false;
    } finally {
      this.#free = null;
    }
  }

  /** Gives the reserve's blocks back to the filesystem; returns whether there was one to give. */
  release(): boolean {
    try {
      unlinkSync(this.#file);
      this.#free = null;
      this.#lastRestore = this.#now();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Whether the disk is short: the reserve was given back (and cannot be
   * re-created yet), or less than one reserve's worth is free beside it.
   * Cheap enough for every batch of login records.
   */
  short(): boolean {
    if (!this.held && (this.#now() - this.#lastRestore < RESTORE_INTERVAL_MS || !this.ensure())) return true;
    return this.#freeBytes(false) < this.#bytes;
  }

  #freeBytes(fresh: boolean): number {
    const now = this.#now();
    if (fresh || !this.#free || now - this.#free.at > FREE_SPACE_TTL_MS) {
      const stats = statfsSync(path.dirname(this.#file));
      this.#free = { bytes: stats.bavail * stats.bsize, at: now };
    }
    return this.#free.bytes;
  }
}
