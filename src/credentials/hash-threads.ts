import { availableParallelism } from 'node:os';

/** libuv's thread pool when nothing sizes it. */
export const LIBUV_DEFAULT_POOL = 4;

/**
 * The pool size devicepassd is launched with (UV_THREADPOOL_SIZE, read by
 * libuv once, when the pool first starts: before any of our code runs under
 * an ES module entry, hence set by the launcher, see daemon-node-flags.ts).
 */
export function libuvPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const size = Number(env.UV_THREADPOOL_SIZE);
  // libuv's own bounds: an unset, malformed or out-of-range value means its default
  return Number.isInteger(size) && size >= 1 ? Math.min(size, 1024) : LIBUV_DEFAULT_POOL;
}

/**
 * How many hashes may run at once. argon2id (libsodium and the argon2
 * package), bcrypt and PBKDF2 all run on libuv's pool, which file system
 * calls and dns.lookup share: a hash beyond the pool's threads only waits
 * there, outside the hash queue's fairness, and in front of that other
 * work. So the queue allows no more hashes than the pool has threads for,
 * keeping 4 threads (half of a small pool) for everything else.
 * `configured` 0 means one per core.
 */
export function hashConcurrency(configured: number, poolSize = libuvPoolSize(), cores = availableParallelism()): number {
  const reserved = Math.min(4, Math.floor(poolSize / 2));
  const threads = Math.max(1, poolSize - reserved);
  return Math.min(configured > 0 ? configured : cores, threads);
}
