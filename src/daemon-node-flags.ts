/**
 * Node flags devicepassd runs with, wherever it is started from: the
 * `bin/devicepassd.js` shebang, `npm start` and the test and benchmark
 * launchers (a unit test keeps all of them in step with this list).
 *
 * --max-semi-space-size=4 (MiB): V8 otherwise lets its young generation grow
 * to 2 × 16 MiB after a burst of logins and keeps it; for a daemon holding
 * thousands of idle sessions that is 16 MiB of RSS for nothing. Capped at
 * 4 MiB, 1,000 idle TLS sessions cost 37 KiB each instead of 55 KiB, with
 * no measurable change in hot logins/s (docs/benchmarks/imap.md).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
