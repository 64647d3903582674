/**
 * Does anything else wait behind the hashes? With the hash queue full of
 * argon2id digests (default parameters, as many in flight as the queue
 * allows, more waiting), dns.lookup('localhost'), fs.stat and a small
 * fs.promises.readFile are timed every 20 ms; then the same with the queue
 * idle. Each setting runs in a process of its own, launched the way it says:
 *   - before: libuv's default pool (4 threads), the queue allowing one hash
 *     per core of a 16-core host (16);
 *   - now, 16 cores: launched as devicepassd is (UV_THREADPOOL_SIZE from
 *     src/daemon-node-flags.ts), concurrency as the daemon sizes it for 16;
 *   - now, this host: the same, concurrency for this host's cores.
 * Usage: npm run build && node dist/scripts/bench-threads.js [--seconds 5]
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { mkdtempSync, rmSync, stat, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { HashQueue } from '../src/auth/hash-queue.js';
import { DAEMON_ENV } from '../src/daemon-node-flags.js';
import { computeDigest } from '../src/credentials/digest.js';
import { hashConcurrency, libuvPoolSize } from '../src/credentials/hash-threads.js';
import { quantile, sortedCopy } from './lib/stats.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const SECONDS = Number(args.get('seconds') ?? 5);
const PARAMS = { memoryKib: 19456, iterations: 2, parallelism: 1 };
const PROBE_INTERVAL_MS = 20;

type Probe = 'dns.lookup' | 'fs.stat' | 'fs.readFile';

/** In the child: probe latencies while `concurrency` hashes run and as many again wait, then while idle. */
async function child(concurrency: number): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dp-threads-'));
  const file = path.join(dir, 'small');
  writeFileSync(file, 'x'.repeat(512));
  const probes: Record<Probe, () => Promise<unknown>> = {
    'dns.lookup': () => lookup('localhost'),
    'fs.stat': () => new Promise((resolve, reject) => stat(dir, (err, s) => (err ? reject(err) : resolve(s)))),
    'fs.readFile': () => readFile(file),
  };
  const measure = async (seconds: number) => {
    const times = new Map<Probe, number[]>(Object.keys(probes).map((p) => [p as Probe, []]));
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      await Promise.all(Object.entries(probes).map(async ([name, probe]) => {
        const start = performance.now();
        await probe();
        times.get(name as Probe)!.push(performance.now() - start);
      }));
      await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
    }
    return Object.fromEntries([...times].map(([name, values]) => {
      const sorted = sortedCopy(values);
      return [name, { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? NaN }];
    }));
  };

  const queue = new HashQueue({ concurrency, maxQueued: 10_000, maxQueuedPerClient: 10_000 });
  let loaded = true;
  let hashes = 0;
  const salt = randomBytes(16);
  const feeder = async () => {
    while (loaded) {
      await queue.run('load', () => computeDigest(`password ${hashes}`, salt, PARAMS));
      hashes++;
    }
  };
  // as many running as the queue allows and as many again waiting: the queue is never short of work
  const feeders = Array.from({ length: concurrency * 2 }, () => feeder());
  await new Promise((r) => setTimeout(r, 500));
  const full = await measure(SECONDS);
  const hashesPerSecond = hashes / (SECONDS + 0.5);
  loaded = false;
  await Promise.all(feeders);
  const idle = await measure(Math.min(2, SECONDS));
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ pool: libuvPoolSize(), concurrency, hashesPerSecond, full, idle }));
}

async function runChild(env: Record<string, string>, concurrency: number): Promise<Record<string, unknown>> {
  const script = fileURLToPath(import.meta.url);
  const out = await new Promise<string>((resolve, reject) => {
    const proc = spawn(process.execPath, [script, '--child', String(concurrency), '--seconds', String(SECONDS)], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    proc.stdout.on('data', (d: Buffer) => (text += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited ${code}`))));
  });
  return JSON.parse(out) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const daemonPool = libuvPoolSize(DAEMON_ENV);
  const settings = [
    { label: 'before: pool 4, queue one per core of 16', env: { UV_THREADPOOL_SIZE: '4' }, concurrency: 16 },
    { label: `now, 16 cores: pool ${daemonPool}`, env: { ...DAEMON_ENV }, concurrency: hashConcurrency(16, daemonPool, 16) },
    { label: `now, this host (${availableParallelism()} cores): pool ${daemonPool}`, env: { ...DAEMON_ENV }, concurrency: hashConcurrency(0, daemonPool) },
  ];
  console.log(`${availableParallelism()} × ${cpus()[0]?.model ?? 'CPU'}, node ${process.version}; argon2id m=${PARAMS.memoryKib} KiB, t=${PARAMS.iterations}; ${SECONDS} s with the queue full, then idle; probes every ${PROBE_INTERVAL_MS} ms`);
  console.log('');
  console.log('| setting | hashes in flight | hashes/s | queue | dns.lookup p50 / p99 / max ms | fs.stat p50 / p99 / max ms | fs.readFile p50 / p99 / max ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const s of settings) {
    const r = await runChild(s.env, s.concurrency) as {
      concurrency: number; hashesPerSecond: number;
      full: Record<Probe, { p50: number; p99: number; max: number }>; idle: Record<Probe, { p50: number; p99: number; max: number }>;
    };
    const cell = (x: { p50: number; p99: number; max: number }) => `${x.p50.toFixed(2)} / ${x.p99.toFixed(2)} / ${x.max.toFixed(1)}`;
    for (const [state, probes] of [['full', r.full], ['idle', r.idle]] as const) {
      console.log(`| ${s.label} | ${r.concurrency} | ${state === 'full' ? r.hashesPerSecond.toFixed(1) : '—'} | ${state} | ${cell(probes['dns.lookup'])} | ${cell(probes['fs.stat'])} | ${cell(probes['fs.readFile'])} |`);
    }
  }
}

if (args.has('child')) await child(Number(args.get('child')));
else await main();
