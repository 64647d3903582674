import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the event loop. A checkpoint copies the pages written
 * to the WAL back into the database file and fsyncs it: after a large
 * import that is a hundred MiB and a second of disk, which SQLite's
 * automatic checkpoint would do inside the next commit, on the event loop.
 * With the automatic checkpoint off on the daemon's connections, a worker
 * thread with a connection of its own runs a PASSIVE checkpoint (it never
 * blocks readers or writers) every `intervalMs`.
 *
 * The worker is a plain-JavaScript string (eval), so the same code runs from
 * dist/ and from the TypeScript sources under vitest; it needs nothing but
 * the SQLite driver.
 */
const SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
// waiting is what this thread is for
db.pragma('busy_timeout = 1000');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'checkpoint') return checkpoint();
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

export class Checkpointer {
  readonly #worker: Worker;
  #closed = false;

  constructor(databaseFile: string, intervalMs: number, onError: (message: string) => void = () => {}) {
    this.#worker = new Worker(SOURCE, { eval: true, workerData: { file: databaseFile, driver: DRIVER, intervalMs } });
    this.#worker.on('message', (message: { error?: string }) => {
      if (message.error) onError(message.error);
    });
    this.#worker.on('error', (err) => onError(err.message));
    this.#worker.unref();
  }

  /** Asks for a checkpoint now (after a bulk import). */
  soon(): void {
    if (!this.#closed) this.#worker.postMessage('checkpoint');
  }

  /** The worker closes its connection and ends; nothing waits for it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.postMessage('close');
  }
}
