/**
 * Watching live proxied sessions being cut (revoke, reset, revoke-all,
 * expiry), the same way for every front: which goodbye each client read, how
 * long after a moment its connection was closed, and when the upstream side
 * went too. The fronts' own tests assert the bound (100 ms).
 */
import type { Daemon } from '../../src/daemon.js';
import type { Scope } from '../../src/store/types.js';
import type { RawImap } from './imap-raw-client.js';

/** One cut client: the goodbye line it read, and ms from the start mark to its close. */
export interface Cut {
  line: string;
  ms: number;
}

/** Waits for each client's goodbye (the next line matching `goodbye`) and its close; `started` is a performance.now() mark. */
export function cutsSince(clients: readonly RawImap[], goodbye: RegExp, started: number): Promise<Cut[]> {
  return Promise.all(
    clients.map(async (c) => {
      const line = await c.next(goodbye);
      await c.waitClosed(1000);
      return { line, ms: performance.now() - started };
    }),
  );
}

/** Ms from `started` (a performance.now() mark) until each of `closings` (an upstream session's close) resolved. */
export function closedSince(closings: readonly Promise<void>[], started: number): Promise<number[]> {
  return Promise.all(closings.map(async (closed) => {
    await closed;
    return performance.now() - started;
  }));
}

/** Polls `check` every 10 ms; throws when it does not hold within `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A device of `address` that expires `expires` from now (e.g. "1s"), with its expiry time in ms since the epoch. */
export async function addExpiringDevice(
  daemon: Daemon, address: string, name: string, expires: string, scopes?: Scope[],
): Promise<{ id: string; password: string; expiresAt: number }> {
  const made = await daemon.admin.addDevice(address, { name, expires, ...(scopes ? { scopes } : {}) }, 'test');
  return { id: made.id, password: made.password, expiresAt: Date.parse(made.expires!) };
}
