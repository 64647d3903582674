/**
 * Benchmarks the Authenticator in process, on a real SQLite file, at the
 * default argon2id parameters:
 *   - hot: logins answered from the proof cache (one primary-key read each);
 *   - cold: logins with the cache off, against bare argon2id with two in flight;
 *   - the cost of a failed login with 1, 10, 100 and 500 devices on the address.
 * Each figure is the median of several runs. Usage:
 *   npm run bench:auth [-- --runs 5 --hot 200000 --cold 200]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { Authenticator } from '../src/auth/authenticator.js';
import { FailureBudget } from '../src/auth/failure-budget.js';
import { argon2idRaw } from '../src/credentials/argon2-raw.js';
import { buildConfig } from '../src/config/load.js';
import { formatParams } from '../src/credentials/digest.js';
import { createCore, hashParams } from '../src/daemon.js';
import { silentLogger } from '../src/log/logger.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const RUNS = Number(args.get('runs') ?? 5);
const HOT = Number(args.get('hot') ?? 200_000);
const COLD = Number(args.get('cold') ?? 200);
const FAILED = Number(args.get('failed') ?? 40);
const DEVICE_COUNTS = [1, 10, 100, 500];
/** Attempts are passed as trusted (no failure delay, no lockout), as a front does for a trusted transport: the hashing cost alone is measured. */
const CLIENT = '127.0.0.1';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function core(dir: string, cacheSize: number) {
  return createCore(buildConfig({ data_dir: dir, auth: { cache_size: cacheSize } }), silentLogger);
}

/** Adds `count` devices; all but the first get random digests (no need to pay argon2id to fill the table). */
async function seed(c: ReturnType<typeof core>, address: string, count: number): Promise<string> {
  await c.admin.addAddress(address, 'bench');
  const first = await c.admin.addDevice(address, { name: 'device 0' }, 'bench');
  const row = c.store.findAddress(address)!;
  const params = formatParams(hashParams(buildConfig({})));
  for (let i = 1; i < count; i++) {
    c.store.addDevice({ addressId: row.id, name: `device ${i}`, user: null, scopes: ['imap', 'smtp'], expiresAt: null, digest: randomBytes(32), params, actor: 'bench' });
  }
  return first.password;
}

async function hot(dir: string): Promise<number> {
  const c = core(dir, 100_000);
  const password = await seed(c, 'hot@example.com', 5);
  const attempt = { address: 'hot@example.com', password, protocol: 'imap' as const, clientIp: CLIENT, trusted: true, clientName: 'bench' };
  // steady state: the first login fills the cache, the next ones warm the JIT
  for (let i = 0; i < 20_000; i++) if (!(await c.authenticator.authenticate(attempt)).ok) throw new Error('hot login failed');
  const start = performance.now();
  for (let i = 0; i < HOT; i++) {
    const result = await c.authenticator.authenticate(attempt);
    if (!result.ok) throw new Error('hot login failed');
  }
  const seconds = (performance.now() - start) / 1000;
  c.recorder.flush();
  c.store.close();
  return HOT / seconds;
}

/** Logins in flight for the cold figure: plenty, so the hash queue decides how many hash at once. */
const COLD_IN_FLIGHT = 16;

async function cold(dir: string): Promise<number> {
  const c = core(dir, 0);
  await seed(c, 'cold@example.com', 5);
  // a device each: identical attempts in flight share one hash (the reconnect herd), which would measure the sharing
  const attempts = await Promise.all(Array.from({ length: COLD_IN_FLIGHT }, async (_, i) => {
    const { password } = await c.admin.addDevice('cold@example.com', { name: `in flight ${i}` }, 'bench');
    return { address: 'cold@example.com', password, protocol: 'imap' as const, clientIp: CLIENT, trusted: true };
  }));
  let next = 0;
  const start = performance.now();
  await Promise.all(attempts.map(async (attempt) => {
    while (next++ < COLD) if (!(await c.authenticator.authenticate(attempt)).ok) throw new Error('cold login failed');
  }));
  const rate = COLD / ((performance.now() - start) / 1000);
  c.store.close();
  return rate;
}

async function bareArgon2(): Promise<number> {
  const params = hashParams(buildConfig({}));
  const salt = randomBytes(16);
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: 2 }, async () => {
    while (next++ < COLD) {
      await argon2idRaw('abcdefghijklmnopqrstuvwx', salt, params, 32);
    }
  }));
  return COLD / ((performance.now() - start) / 1000);
}

/**
 * Median time of a fresh wrong password (one at a time), in milliseconds: the
 * verification's work. The daemon holds every failure to one budget whatever
 * the address (src/auth/failure-budget.ts), which would hide what the device
 * count costs, so this Authenticator holds failures for no time at all.
 */
async function failed(dir: string, devices: number): Promise<number> {
  const c = core(dir, 100_000);
  await seed(c, 'failed@example.com', devices);
  const params = hashParams(buildConfig({}));
  const unheld = new Authenticator({
    reads: c.driver.reads, cache: c.cache, queue: c.queue, throttle: c.throttle, recorder: c.recorder, params, log: silentLogger,
    budget: new FailureBudget({ maxMs: 0, kindTtlMs: 60_000, maxKinds: 16 }),
  });
  const times: number[] = [];
  for (let i = 0; i < FAILED; i++) {
    const start = performance.now();
    const result = await unheld.authenticate({ address: 'failed@example.com', password: `wrong password ${i}`, protocol: 'imap', clientIp: CLIENT, trusted: true });
    times.push(performance.now() - start);
    if (result.ok || result.reason !== 'wrong-password') throw new Error(`unexpected result ${JSON.stringify(result)}`);
  }
  c.store.close();
  return median(times);
}

async function inFreshDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dp-bench-'));
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results = { hot: [] as number[], cold: [] as number[], bare: [] as number[], failed: new Map<number, number[]>() };
  for (let run = 1; run <= RUNS; run++) {
    results.hot.push(await inFreshDir(hot));
    results.bare.push(await bareArgon2());
    results.cold.push(await inFreshDir(cold));
    for (const n of DEVICE_COUNTS) {
      const list = results.failed.get(n) ?? [];
      list.push(await inFreshDir((dir) => failed(dir, n)));
      results.failed.set(n, list);
    }
    process.stderr.write(`run ${run}/${RUNS} done\n`);
  }
  const params = hashParams(buildConfig({}));
  const hotRate = median(results.hot);
  const coldRate = median(results.cold);
  const bareRate = median(results.bare);
  const failOne = median(results.failed.get(1)!);
  const lines = [
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`,
    `argon2id: ${formatParams(params)}; ${RUNS} runs, medians; hot ${HOT} logins, cold ${COLD} logins, failed ${FAILED} attempts per size`,
    '',
    '| measure | result | target |',
    '| --- | --- | --- |',
    `| hot logins/s (proof cache hit) | ${Math.round(hotRate).toLocaleString('en')} | ≥ 50,000 |`,
    `| bare argon2id/s, two in flight | ${bareRate.toFixed(1)} | — |`,
    `| cold logins/s (cache off) | ${coldRate.toFixed(1)} (${(coldRate / bareRate).toFixed(2)}× bare) | ≥ 0.9× bare |`,
    ...DEVICE_COUNTS.map((n) => {
      const ms = median(results.failed.get(n)!);
      return `| failed login, ${n} device(s) | ${ms.toFixed(1)} ms (${(ms / failOne).toFixed(2)}× one device) | ${n === 500 ? '≤ 1.1×' : '—'} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
