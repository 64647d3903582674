/**
 * Can response time tell which addresses exist, or what kind they are? The
 * Authenticator in process, on a real SQLite file, at the default argon2id
 * parameters, answers fresh wrong passwords for every kind of address:
 *   - unknown: no such address;
 *   - wrong: a known address with three devices;
 *   - locked: a known address on which the client's network already guessed
 *     too often (refused before any hash);
 *   - two param sets: devices stored under the current and older parameters;
 *   - generic bcrypt-10, generic SHA512-CRYPT (5000 rounds), generic ARGON2ID
 *     (m=64 MiB, t=3: what doveadm writes): imported passwords not yet
 *     re-stored as digests.
 * Samples of all kinds are interleaved at random, one at a time, each from a
 * client address of its own (except "locked"), after a warm-up of each kind.
 * Every kind is compared with "unknown": medians, p99, Mann–Whitney U.
 * Target: medians within 5 %, no kind distinguishable (p ≥ 0.01). The same is
 * then run with failures not held to the budget, to show what it hides.
 * The per-network failure delay is off here: it is the same for every kind
 * and would only add seconds. Usage:
 *   npm run build && node dist/scripts/bench-timing.js [--samples 100 --warmup 5]
 */
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Authenticator } from '../src/auth/authenticator.js';
import { FailureBudget } from '../src/auth/failure-budget.js';
import { buildConfig } from '../src/config/load.js';
import { CredentialAdmin } from '../src/credentials/admin.js';
import { createCore, hashParams } from '../src/daemon.js';
import { silentLogger } from '../src/log/logger.js';
import { mannWhitney, quantile, sortedCopy } from './lib/stats.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const SAMPLES = Number(args.get('samples') ?? 100);
const WARMUP = Number(args.get('warmup') ?? 5);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Fixture { scheme: string; hash: string; password: string }
const fixtures = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/legacy-hashes.json'), 'utf8')) as Fixture[];
// bcrypt has no bundled types; the one function used is typed here
const bcrypt = createRequire(import.meta.url)('bcrypt') as { hash(data: string, rounds: number): Promise<string> };
const fixture = (scheme: string) => fixtures.find((f) => f.scheme === scheme)!.hash;

const LOCKED_NETWORK = '198.51.100.99';

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dp-timing-'));
  const config = buildConfig({
    data_dir: dir,
    log: { level: 'silent' },
    auth: { failure_delay: 0, failure_delay_max: 0 },
    imap: { listen: [], listen_tls: [] }, smtp: { listen: [], listen_tls: [] }, http: { listen: [] },
  });
  const core = createCore(config, silentLogger);
  const { admin, store } = core;
  try {
    const kinds: Record<string, string> = {
      unknown: 'nobody@timing.test',
      wrong: 'devices@timing.test',
      locked: 'locked@timing.test',
      'two param sets': 'old-and-new@timing.test',
      'generic bcrypt-10': 'bcrypt@timing.test',
      'generic SHA512-CRYPT': 'sha512@timing.test',
      'generic ARGON2ID 64 MiB': 'argon2@timing.test',
    };
    for (const address of Object.values(kinds).slice(1)) await admin.addAddress(address, 'bench');
    for (const name of ['phone', 'laptop', 'tablet']) await admin.addDevice(kinds['wrong']!, { name }, 'bench');
    await admin.addDevice(kinds['locked']!, { name: 'phone' }, 'bench');
    const older = new CredentialAdmin(core.driver.admin, core.registry, { memoryKib: 12288, iterations: 3, parallelism: 1 });
    await older.addDevice(kinds['two param sets']!, { name: 'old phone' }, 'bench');
    await admin.addDevice(kinds['two param sets']!, { name: 'new phone' }, 'bench');
    await admin.importGeneric(kinds['generic bcrypt-10']!, `{BLF-CRYPT}${await bcrypt.hash('bcrypt password', 10)}`, 'bench');
    await admin.importGeneric(kinds['generic SHA512-CRYPT']!, fixture('SHA512-CRYPT'), 'bench');
    await admin.importGeneric(kinds['generic ARGON2ID 64 MiB']!, fixture('ARGON2ID'), 'bench');

    const held = core.authenticator;
    const unheld = new Authenticator({
      reads: core.driver.reads, cache: core.cache, queue: core.queue, throttle: core.throttle, recorder: core.recorder, params: hashParams(config), log: silentLogger,
      budget: new FailureBudget({ maxMs: 0, kindTtlMs: 1, maxKinds: 1 }),
    });

    let sample = 0;
    const once = async (auth: Authenticator, kind: string): Promise<{ ms: number; reason: string }> => {
      const n = sample++;
      const clientIp = kind === 'locked' ? LOCKED_NETWORK : `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
      const start = performance.now();
      const result = await auth.authenticate({ address: kinds[kind]!, password: `wrong password ${n}`, protocol: 'imap', clientIp, trusted: false });
      const ms = performance.now() - start;
      core.recorder.flush();
      return { ms, reason: result.ok ? 'ok' : result.reason };
    };

    // the locked network guesses at its address until it is refused
    for (let i = 0; i < config.auth.lockout_failures; i++) {
      await held.authenticate({ address: kinds['locked']!, password: `lockout guess ${i}`, protocol: 'imap', clientIp: LOCKED_NETWORK, trusted: false });
    }

    const names = Object.keys(kinds);
    const lines: string[] = [];
    for (const [label, auth] of [['held to the failure budget (as shipped)', held], ['not held (budget off)', unheld]] as const) {
      for (let i = 0; i < WARMUP; i++) for (const kind of names) await once(auth, kind);
      const order = names.flatMap((kind) => Array<string>(SAMPLES).fill(kind));
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const times = new Map<string, number[]>(names.map((k) => [k, []]));
      const reasons = new Map<string, Set<string>>(names.map((k) => [k, new Set()]));
      for (const kind of order) {
        const { ms, reason } = await once(auth, kind);
        times.get(kind)!.push(ms);
        reasons.get(kind)!.add(reason);
      }
      const reference = sortedCopy(times.get('unknown')!);
      const refMedian = quantile(reference, 0.5);
      lines.push('', `### ${label}`, '', '| kind | answer | median ms | p99 ms | median vs unknown | Mann–Whitney p vs unknown |', '| --- | --- | --- | --- | --- | --- |');
      for (const kind of names) {
        const sorted = sortedCopy(times.get(kind)!);
        const med = quantile(sorted, 0.5);
        const test = kind === 'unknown' ? null : mannWhitney(times.get(kind)!, reference);
        const diff = ((med / refMedian - 1) * 100).toFixed(1);
        lines.push(`| ${kind} | ${[...reasons.get(kind)!].join(', ')} | ${med.toFixed(2)} | ${quantile(sorted, 0.99).toFixed(2)} | ${kind === 'unknown' ? '—' : `${Number(diff) >= 0 ? '+' : ''}${diff} %`} | ${test ? test.p.toFixed(3) : '—'} |`);
      }
    }
    const p = hashParams(config);
    console.log(`${availableParallelism()} × ${cpus()[0]?.model ?? 'CPU'}, node ${process.version}; digest argon2id m=${p.memoryKib} KiB, t=${p.iterations}, p=${p.parallelism}; ${SAMPLES} samples per kind after ${WARMUP} of warm-up`);
    console.log(lines.join('\n'));
  } finally {
    core.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
