/**
 * Benchmarks authentication over the Dovecot SASL protocol: devicepassd (a
 * separate process, as deployed) against Dovecot's own auth service, same
 * users, same argon2id parameters (Dovecot's: `doveadm pw -s ARGON2ID`
 * writes m=65536,t=3,p=1, and devicepass is configured to match), same run.
 *   - hot: repeated logins of known-good passwords (devicepass: proof cache);
 *   - cold: devicepass with the proof cache off (one argon2id per login);
 *   - migration day: first logins of users whose {ARGON2ID} hashes (the same
 *     doveadm wrote for Dovecot) were imported as generic passwords, each
 *     once, cache on: one argon2id before the answer, the re-store as a
 *     digest later, when the hash queue has room;
 *   - Dovecot: passwd-file with {ARGON2ID} hashes (it hashes every login).
 * Each user logs in from an address of its own (rip=10.77.x.y): a client
 * network's hash allowance is for one client, not for a whole benchmark.
 * Many requests are in flight over several connections to saturate the
 * server; the load generator's own CPU share is reported (it shares the cores).
 * Usage (as root, Dovecot installed):
 *   npm run build && node dist/scripts/bench-sasl.js [--users 32 --generic 160 --hot-seconds 5 --cold 200 --dovecot 120 --inflight 256]
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConfig } from '../src/config/load.js';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../src/daemon-node-flags.js';
import { createCore } from '../src/daemon.js';
import { SaslClient, type PlainRequest } from '../src/dovecot-auth/client.js';
import { silentLogger } from '../src/log/logger.js';
import { frontSections } from './e2e/devicepassd.js';
import { instanceDir, run, startDovecot, waitForPort } from './e2e/sasl-dovecot.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const USERS = Number(args.get('users') ?? 32);
const GENERIC = Number(args.get('generic') ?? 160);
const HOT_SECONDS = Number(args.get('hot-seconds') ?? 5);
const COLD = Number(args.get('cold') ?? 200);
const DOVECOT = Number(args.get('dovecot') ?? 120);
const INFLIGHT = Number(args.get('inflight') ?? 256);
const CONNECTIONS = 4;
const HASHING = { memory_kib: 65536, iterations: 3, parallelism: 1 };
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Result {
  label: string;
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  /** The load generator's CPU time over wall time, in cores. */
  generatorCores: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/**
 * Keeps `inflight` PLAIN requests outstanding over CONNECTIONS connections
 * until `count` are answered or `seconds` pass; every verdict must be OK.
 */
async function load(label: string, address: string, users: PlainRequest[], limit: { count?: number; seconds?: number }, inflight: number): Promise<Result> {
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => SaslClient.connect(address)));
  const latencies: number[] = [];
  let issued = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = limit.seconds ? start + limit.seconds * 1000 : Infinity;
  const more = () => (limit.count === undefined || issued < limit.count) && performance.now() < deadline;
  const worker = async (w: number) => {
    const client = clients[w % CONNECTIONS]!;
    while (more()) {
      const user = users[issued++ % users.length]!;
      const t0 = performance.now();
      const verdict = await client.plain(user);
      latencies.push(performance.now() - t0);
      if (!verdict.ok) throw new Error(`${label}: login of ${user.user} refused (${verdict.reason})`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, (_, w) => worker(w)));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const c of clients) c.close();
  latencies.sort((a, b) => a - b);
  return { label, requests: latencies.length, seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), generatorCores: (cpu.user + cpu.system) / 1e6 / seconds };
}

/**
 * Fills devicepass's database with addresses of one device each (chosen passwords, so Dovecot gets
 * the same) and addresses whose Dovecot hash is imported as their generic password.
 */
async function seed(dir: string, users: PlainRequest[], generic: Array<{ user: PlainRequest; hash: string }>): Promise<void> {
  const core = createCore(buildConfig({ data_dir: dir, hashing: HASHING, log: { level: 'silent' } }), silentLogger);
  await Promise.all(
    users.map(async (u) => {
      await core.admin.addAddress(u.user, 'bench');
      await core.admin.addDevice(u.user, { name: 'bench', password: u.password }, 'bench');
    }),
  );
  for (const g of generic) await core.admin.importGeneric(g.user.user, g.hash, 'bench');
  core.recorder.flush();
  core.store.close();
}

const clientIp = (i: number) => `10.77.${(i >> 8) & 255}.${i & 255}`;

async function startDevicepass(dir: string, cacheSize: number): Promise<{ socket: string; stop: () => Promise<void> }> {
  const config = path.join(dir, `bench-${cacheSize}.toml`);
  writeFileSync(
    config,
    `data_dir = ${JSON.stringify(dir)}
[log]
level = "warn"
[hashing]
memory_kib = ${HASHING.memory_kib}
iterations = ${HASHING.iterations}
parallelism = ${HASHING.parallelism}
queue_max = 100000
queue_max_per_client = 100000
[auth]
cache_size = ${cacheSize}
${frontSections()}
[dovecot_auth]
listen = ["127.0.0.1:0", "auth.sock"]
mode = "0666"
`,
  );
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, path.join(ROOT, 'bin', 'devicepassd.js'), '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...DAEMON_ENV },
  });
  const socket = path.join(dir, 'auth.sock');
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      (await SaslClient.connect(socket, 500)).close();
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('devicepassd did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { socket, stop: async () => (child.kill('SIGTERM'), await exited) };
}

async function dovecotHash(password: string): Promise<string> {
  return (await run('/usr/bin/doveadm', ['pw', '-s', 'ARGON2ID', '-p', password])).stdout.trim();
}

function row(r: Result, reference?: Result): string {
  const rate = r.requests / r.seconds;
  const vs = reference ? ` (${(rate / (reference.requests / reference.seconds)).toFixed(1)}× Dovecot)` : '';
  return `| ${r.label} | ${r.requests} | ${rate.toFixed(rate >= 100 ? 0 : 1)}${vs} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.generatorCores * 100).toFixed(0)}% of one core |`;
}

async function main(): Promise<void> {
  const dir = instanceDir('bs');
  const users: PlainRequest[] = Array.from({ length: USERS }, (_, i) => ({
    user: `user${i}@bench.test`, password: `bench-password-${i}-${Math.random().toString(36).slice(2, 10)}`, service: 'smtp', rip: clientIp(i),
  }));
  const genericUsers: PlainRequest[] = Array.from({ length: GENERIC }, (_, i) => ({
    user: `imported${i}@bench.test`, password: `imported-password-${i}-${Math.random().toString(36).slice(2, 10)}`, service: 'smtp', rip: clientIp(USERS + i),
  }));
  const everyone = [...users, ...genericUsers];
  console.error(`seeding ${everyone.length} users (argon2id m=${HASHING.memory_kib} KiB, t=${HASHING.iterations}, p=${HASHING.parallelism}) …`);
  const hashes: string[] = [];
  for (let i = 0; i < everyone.length; i += 4) hashes.push(...(await Promise.all(everyone.slice(i, i + 4).map((u) => dovecotHash(u.password)))));
  await seed(dir, users, genericUsers.map((user, i) => ({ user, hash: hashes[USERS + i]! })));
  const dovecot = await startDovecot({ auth: { kind: 'passwd-file', lines: everyone.map((u, i) => `${u.user}:${hashes[i]}\n`).join('') } });
  await waitForPort(dovecot.port, 5_000, 'Dovecot');
  const results: Result[] = [];
  try {
    const cached = await startDevicepass(dir, 100_000);
    try {
      await load('warm-up', cached.socket, users, { count: users.length }, Math.min(16, INFLIGHT));
      await load('warm-up', cached.socket, users, { seconds: 1 }, INFLIGHT);
      results.push(await load('devicepass hot', cached.socket, users, { seconds: HOT_SECONDS }, INFLIGHT));
    } finally {
      await cached.stop();
    }
    const uncached = await startDevicepass(dir, 0);
    try {
      results.push(await load('devicepass cold', uncached.socket, users, { count: COLD }, 32));
    } finally {
      await uncached.stop();
    }
    const migrating = await startDevicepass(dir, 100_000);
    try {
      results.push(await load('devicepass generic first logins', migrating.socket, genericUsers, { count: GENERIC }, 32));
    } finally {
      await migrating.stop();
    }
    results.push(await load('Dovecot, the same users', dovecot.authSocket, genericUsers, { count: GENERIC }, 32));
    results.push(await load('Dovecot (passwd-file)', dovecot.authSocket, users, { count: DOVECOT }, 32));
  } finally {
    await dovecot.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const dovecotResult = results.at(-1)!;
  const dovecotGeneric = results.at(-2)!;
  console.log(`cores: ${availableParallelism()}, node ${process.version}, users ${USERS} + ${GENERIC} imported, in flight: hot ${INFLIGHT}, cold/Dovecot 32, over ${CONNECTIONS} connections`);
  console.log('| run | requests | auth/s | p50 ms | p99 ms | load generator CPU |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    const reference = r === dovecotResult || r === dovecotGeneric ? undefined : r.label.includes('generic') ? dovecotGeneric : dovecotResult;
    console.log(row(r, reference));
  }
}

await main();
