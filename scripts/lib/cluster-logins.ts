/**
 * Part 1 of the cluster benchmark: hot and cold logins/s of one node in
 * process, on SQLite or on the PostgreSQL cluster driver, measured as
 * scripts/bench-auth.ts measures them.
 */
import { randomBytes } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import { buildConfig } from '../../src/config/load.js';
import { argon2idRaw } from '../../src/credentials/argon2-raw.js';
import { hashParams } from '../../src/daemon.js';
import { openNode, seedAddress, type DriverKind, type InProcessNode } from './cluster-nodes.js';

/** Attempts are passed as trusted (no failure delay, no lockout), as a front does for a trusted transport. */
const CLIENT = '127.0.0.1';
/**
 * The loop gives the event loop a turn this often. A real node's logins
 * arrive as socket events, so its timers run between them; a loop of awaited
 * hits alone would starve them, and the PostgreSQL node's lease renewal is a
 * timer: unrenewed, the lease lapses after 1.6 s and every hit goes to the
 * database, which no running node would see.
 */
const TURN_EVERY = 1000;
/** Cold logins in flight at once, each with its own password. */
const IN_FLIGHT = 16;

export interface HotResult {
  rate: number;
  /** Statements sent to PostgreSQL per timed login (hits answered from the mirror send none); NaN on SQLite. */
  queriesPerLogin: number;
}

function queries(node: InProcessNode): number {
  const value = node.core.driver.stats().queries;
  return typeof value === 'number' ? value : NaN;
}

export async function hotLogins(kind: DriverKind, dir: string, url: string, count: number): Promise<HotResult> {
  const node = await openNode(kind, dir, url, 100_000);
  try {
    const password = (await seedAddress(node.core, 'hot@example.com', 5)).passwords[0]!;
    const attempt = { address: 'hot@example.com', password, protocol: 'imap' as const, clientIp: CLIENT, trusted: true, clientName: 'bench' };
    const authenticate = async () => {
      if (!(await node.core.authenticator.authenticate(attempt)).ok) throw new Error(`hot login failed (${kind})`);
    };
    // steady state: the first login fills the cache, the next ones warm the JIT
    for (let i = 0; i < 20_000; i++) {
      await authenticate();
      if (i % TURN_EVERY === 0) await turn();
    }
    const queriesBefore = queries(node);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      await authenticate();
      if (i % TURN_EVERY === 0) await turn();
    }
    const seconds = (performance.now() - start) / 1000;
    return { rate: count / seconds, queriesPerLogin: (queries(node) - queriesBefore) / count };
  } finally {
    await node.close();
  }
}

/**
 * Cold logins/s with the proof cache off, 16 in flight so the hash queue
 * stays full. Each of the 16 logs in with a device of its own: identical
 * attempts in flight share one hash (the Authenticator's answer to a
 * reconnect herd), so 16 copies of one login would cost one argon2id.
 */
export async function coldLogins(kind: DriverKind, dir: string, url: string, count: number): Promise<number> {
  const node = await openNode(kind, dir, url, 0);
  try {
    const { passwords } = await seedAddress(node.core, 'cold@example.com', IN_FLIGHT, IN_FLIGHT);
    let next = 0;
    const start = performance.now();
    await Promise.all(passwords.map(async (password) => {
      const attempt = { address: 'cold@example.com', password, protocol: 'imap' as const, clientIp: CLIENT, trusted: true };
      while (next++ < count) if (!(await node.core.authenticator.authenticate(attempt)).ok) throw new Error(`cold login failed (${kind})`);
    }));
    return count / ((performance.now() - start) / 1000);
  } finally {
    await node.close();
  }
}

/** Bare argon2id/s at the default parameters, two in flight (one per core): the ceiling of a cold login. */
export async function bareArgon2(count: number): Promise<number> {
  const params = hashParams(buildConfig({}));
  const salt = randomBytes(16);
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: 2 }, async () => {
    while (next++ < count) await argon2idRaw('abcdefghijklmnopqrstuvwx', salt, params, 32);
  }));
  return count / ((performance.now() - start) / 1000);
}
