/**
 * Node flags and environment devicepassd runs with, wherever it is started
 * from: the `bin/devicepassd.js` shebang, `npm start` and the test and
 * benchmark launchers (a unit test keeps all of them in step with these).
 *
 * --max-semi-space-size=4 (MiB): V8 otherwise lets its young generation grow
 * to 2 × 16 MiB after a burst of logins and keeps it; for a daemon holding
 * thousands of idle sessions that is 16 MiB of RSS for nothing. Capped at
 * 4 MiB, 1,000 idle TLS sessions cost 37 KiB each instead of 55 KiB, with
 * no measurable change in hot logins/s (docs/benchmarks/imap.md).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/**
 * UV_THREADPOOL_SIZE=20: the hashes (argon2id, bcrypt, PBKDF2) run on
 * libuv's thread pool, 4 threads unless sized, which file system calls and
 * dns.lookup share. libuv reads the size once, when the pool starts, and an
 * ES module entry starts it (reading its own file) before any of its code
 * runs: so the launcher sets it. 20 threads give up to 16 hashes in flight
 * with 4 threads to spare (src/credentials/hash-threads.ts); an idle thread
 * costs next to nothing. On more than 16 cores, launch with a larger value.
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { UV_THREADPOOL_SIZE: '20' };
