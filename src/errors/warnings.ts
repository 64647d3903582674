/**
 * Warnings for whoever asked: a request that succeeded, with a caveat its
 * caller must see rather than find in a log (a change that is committed but
 * was not confirmed by every node). The control server collects them for each
 * request and sends them with the answer; the CLI prints them on stderr and
 * still exits 0. Work done outside a request (a timer's) warns no one: the
 * code that warns also logs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<string[]>();

/** Runs `body`, collecting the warnings given to its caller on the way. */
export async function collectWarnings<T>(body: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  const value = await current.run(warnings, body);
  return { value, warnings };
}

/** A caveat for the caller of the request in progress, if there is one. */
export function warnCaller(message: string): void {
  current.getStore()?.push(message);
}
