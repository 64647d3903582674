/**
 * Warnings for whoever asked: a request that succeeded, with a caveat its
 * caller must see rather than find in a log (a change that is committed but
 * was not confirmed by every node). The control server collects them for each
 * request and sends them with the answer; the CLI prints them on stderr and
 * still exits 0. Work done outside a request (a timer's) warns no one: the
 * code that warns also logs.
 *
 * The request is followed through its awaits by an AsyncLocalStorage, which
 * on Node 20 turns on a promise hook for the whole process while it is
 * enabled: every promise of every login would pay for it (the POP3 PASS
 * step's p50 went from 0.60 to 0.74 ms). So it is enabled only while a
 * request collects, and disabled when the last one in flight is done.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<string[]>();
let collecting = 0;

/** Runs `body`, collecting the warnings given to its caller on the way. */
export async function collectWarnings<T>(body: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  collecting++;
  try {
    const value = await current.run(warnings, body);
    return { value, warnings };
  } finally {
    // disabling exits every context of the store: only once no other request is inside one
    if (--collecting === 0) current.disable();
  }
}

/** A caveat for the caller of the request in progress, if there is one. */
export function warnCaller(message: string): void {
  current.getStore()?.push(message);
}
