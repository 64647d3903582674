import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The store's connection waits at most this long, synchronously, for a
 * write lock another connection holds (SQLite's busy_timeout); past it the
 * write fails with SQLITE_BUSY and its caller retries asynchronously, so the
 * event loop never sits on another process's lock.
 */
export const BUSY_TIMEOUT_MS = 5;
/** How long an administrative write keeps retrying before it reports STORE_BUSY. */
export const ADMIN_RETRY_MS = 30_000;

/** SQLITE_BUSY and its extended codes (recovery, snapshot, timeout). */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs `attempt` until it does not fail with SQLITE_BUSY, waiting between
 * tries without blocking (5 ms, doubling to 100 ms), for up to `withinMs`;
 * then the last SQLITE_BUSY is thrown.
 */
export async function retryWhileBusy<T>(attempt: () => T | Promise<T>, withinMs = ADMIN_RETRY_MS): Promise<T> {
  const deadline = Date.now() + withinMs;
  let wait = 5;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!isBusy(err) || Date.now() + wait > deadline) throw err;
    }
    await sleep(wait);
    wait = Math.min(100, wait * 2);
  }
}
