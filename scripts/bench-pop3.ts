/**
 * Benchmarks the POP3 front against a real Dovecot on loopback
 * (scripts/e2e/dovecot.ts; needs root and Debian's dovecot-pop3d):
 *   - logins/s and p50/p99 of one whole login (new connection, greeting,
 *     USER, PASS, +OK, QUIT) through devicepass to Dovecot's POP3 against
 *     straight to it (USER "address*master"), the two taking turns in slices
 *     of each run so a drifting host meets both;
 *   - devicepass's own login step (PASS sent → +OK) with a warm proof cache,
 *     one at a time, in front of an upstream that answers at once;
 *   - memory per idle proxied TLS session (daemon RSS and heap after a full
 *     GC, before and after opening the sessions), in a fresh daemon.
 * Each rate is the median of the runs; the ratio is the median of each run's ratio. Usage:
 *   npm run build && node dist/scripts/bench-pop3.js [--runs 5 --logins 300 --concurrency 8 --warm-up 1000 --serial 300 --idle 1000 --parts logins,steps,memory --pin 1]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { silentLogger } from '../src/log/logger.js';
import { openPop3Upstream } from '../src/pop3/upstream.js';
import { startDovecot } from './e2e/dovecot.js';
import { pinSelf } from './e2e/host.js';
import { Pop3Probe } from './e2e/pop3-probe.js';
import {
  BENCH_ADDRESS as ADDRESS, benchArgs, median, percentile, pinningOf, startBenchDevicepass, startInstantUpstream, stolenMs, stopChild as stop, type BenchDevicepass,
} from './lib/front-bench.js';

const args = benchArgs();
const RUNS = Number(args.get('runs') ?? 5);
const LOGINS = Number(args.get('logins') ?? 300);
const CONCURRENCY = Number(args.get('concurrency') ?? 8);
const SERIAL = Number(args.get('serial') ?? 300);
const WARM_UP = Number(args.get('warm-up') ?? 1000);
const IDLE = Number(args.get('idle') ?? 1000);
const SLICES = 6;
/** Which parts to run: logins (rates), steps (one-at-a-time PASS steps, openPop3Upstream alone), memory (idle TLS sessions). */
const PARTS = new Set((args.get('parts') ?? 'logins,steps,memory').split(','));
/** --pin 1: devicepassd on CPU 0, the load generator and the upstreams on CPU 1 (see host.ts). */
const PIN = pinningOf(args);

interface Target {
  port: number;
  user: string;
  pass: string;
}

/** One whole login; returns [whole ms, PASS step ms]. */
async function loginOnce(target: Target, secure = false): Promise<[number, number]> {
  const start = performance.now();
  const probe = await Pop3Probe.connect(target.port, secure);
  try {
    const user = await probe.command(`USER ${target.user}`);
    if (!user.startsWith('+OK')) throw new Error(`USER answered ${user}`);
    const sent = performance.now();
    const pass = await probe.command(`PASS ${target.pass}`);
    const step = performance.now() - sent;
    if (!pass.startsWith('+OK')) throw new Error(`PASS answered ${pass}`);
    await probe.command('QUIT');
    return [performance.now() - start, step];
  } finally {
    probe.destroy();
  }
}

async function logins(target: Target, count: number): Promise<number[]> {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < count) times.push((await loginOnce(target))[0]);
    }),
  );
  return times;
}

async function startDevicepass(dir: string, upstream: { port: number; user: string; pass: string }): Promise<BenchDevicepass> {
  const dp = await startBenchDevicepass(dir, { front: 'pop3', upstream, pin: PIN });
  // the password without its spaces: one token on the PASS line, as most clients send it
  return { ...dp, password: dp.password.replace(/ /g, '') };
}

/** Opens `count` logged-in TLS sessions through devicepass, leaves them idle, returns the daemon's growth per session. */
async function idleTlsSessions(dp: BenchDevicepass, count: number): Promise<{ rssKiB: number; heapKiB: number; externalKiB: number }> {
  const before = await dp.memory();
  const open: Pop3Probe[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next++ < count) {
        const probe = await Pop3Probe.connect(dp.tlsPort, true);
        await probe.command(`USER ${ADDRESS}`);
        const pass = await probe.command(`PASS ${dp.password}`);
        if (!pass.startsWith('+OK')) throw new Error(`idle session ${open.length + 1}: PASS answered ${pass}`);
        open.push(probe);
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 2_000));
  const after = await dp.memory();
  for (const probe of open) probe.destroy();
  const kib = (a: number, b: number) => (a - b) / 1024 / count;
  return { rssKiB: kib(after.rss, before.rss), heapKiB: kib(after.heapUsed, before.heapUsed), externalKiB: kib(after.external, before.external) };
}

async function main(): Promise<void> {
  const loadStart = loadavg()[0]!;
  if (PIN) pinSelf(PIN.others);
  const dovecot = await startDovecot({ pop3: true, fastLogins: true, maxSessions: 400, logIds: false });
  const dirs = [mkdtempSync('/tmp/dpbp-'), mkdtempSync('/tmp/dpbp-'), mkdtempSync('/tmp/dpbp-')];
  const children: (ChildProcess | null)[] = [];
  try {
    const viaDovecot = await startDevicepass(dirs[0]!, { port: dovecot.pop3Port!, user: dovecot.masterUser, pass: dovecot.masterPassword });
    children.push(viaDovecot.child);
    const instant = await startInstantUpstream('pop3');
    children.push(instant.child);
    const viaInstant = await startDevicepass(dirs[1]!, { port: instant.port, user: 'master', pass: 'instant' });
    children.push(viaInstant.child);

    const through: Target = { port: viaDovecot.plainPort, user: ADDRESS, pass: viaDovecot.password };
    const direct: Target = { port: dovecot.pop3Port!, user: `${ADDRESS}*${dovecot.masterUser}`, pass: dovecot.masterPassword };
    const instantTarget: Target = { port: viaInstant.plainPort, user: ADDRESS, pass: viaInstant.password };
    // warm up: the first login pays argon2id and fills the proof cache, Dovecot creates the Maildir,
    // V8 compiles the hot paths
    for (const target of PARTS.has('logins') ? [through, direct, instantTarget] : [instantTarget]) await logins(target, WARM_UP);

    const r = { via: [] as number[], direct: [] as number[], ratio: [] as number[], viaP50: [] as number[], viaP99: [] as number[], directP50: [] as number[], directP99: [] as number[] };
    for (let run = 1; PARTS.has('logins') && run <= RUNS; run++) {
      const paths = [
        { target: through, elapsedMs: 0, times: [] as number[] },
        { target: direct, elapsedMs: 0, times: [] as number[] },
      ];
      const perSlice = Math.ceil(LOGINS / SLICES);
      for (let slice = 0; slice < SLICES; slice++) {
        for (let i = 0; i < paths.length; i++) {
          const p = paths[(i + slice + run) % paths.length]!;
          const started = performance.now();
          p.times.push(...(await logins(p.target, perSlice)));
          p.elapsedMs += performance.now() - started;
        }
      }
      const [via, straight] = paths as [(typeof paths)[0], (typeof paths)[0]];
      const rate = (p: typeof via) => ((perSlice * SLICES) / p.elapsedMs) * 1000;
      r.via.push(rate(via));
      r.direct.push(rate(straight));
      r.ratio.push(rate(via) / rate(straight));
      r.viaP50.push(percentile(via.times, 50));
      r.viaP99.push(percentile(via.times, 99));
      r.directP50.push(percentile(straight.times, 50));
      r.directP99.push(percentile(straight.times, 99));
      process.stderr.write(`logins run ${run}/${RUNS}: ${r.via.at(-1)!.toFixed(0)}/s via devicepass, ${r.direct.at(-1)!.toFixed(0)}/s straight = ${r.ratio.at(-1)!.toFixed(2)} ×\n`);
    }

    // devicepass's own PASS step, one at a time, before the instant upstream; then the same step through to Dovecot and straight to it
    const steps = { instant: [] as number[], dovecot: [] as number[], direct: [] as number[] };
    const stealBefore = stolenMs();
    const stepsStarted = performance.now();
    for (let i = 0; PARTS.has('steps') && i < SERIAL; i++) steps.instant.push((await loginOnce(instantTarget))[1]);
    // over both vCPUs: the share of the time the host ran other guests instead, in stalls of a few ms
    const stolenShare = (stolenMs() - stealBefore) / (2 * (performance.now() - stepsStarted));
    for (let i = 0; PARTS.has('steps') && PARTS.has('logins') && i < SERIAL; i++) {
      steps.dovecot.push((await loginOnce(through))[1]);
      steps.direct.push((await loginOnce(direct))[1]);
    }

    // openPop3Upstream alone (this process → the instant upstream): the proxy's share of the PASS step
    const opens: number[] = [];
    const login = { address: ADDRESS, clientIp: '192.0.2.1', clientPort: 40000, sessionId: 'bench' };
    const instantCfg = { host: '127.0.0.1', port: instant.port, tls: 'none' as const, master_user: 'master', master_password: 'instant' };
    for (let i = 0; PARTS.has('steps') && i < SERIAL; i++) {
      const start = performance.now();
      const socket = await openPop3Upstream(instantCfg, login, silentLogger);
      opens.push(performance.now() - start);
      socket.destroy();
    }

    // memory in a fresh daemon: what an earlier measurement freed would hide this one's growth
    let memory = { rssKiB: NaN, heapKiB: NaN, externalKiB: NaN };
    if (PARTS.has('memory')) {
      const fresh = await startDevicepass(dirs[2]!, { port: instant.port, user: 'master', pass: 'instant' });
      children.push(fresh.child);
      await loginOnce({ port: fresh.tlsPort, user: ADDRESS, pass: fresh.password }, true);
      memory = await idleTlsSessions(fresh, IDLE);
    }

    const ms = (v: number) => `${v.toFixed(2)} ms`;
    const lines = [
      `load average (1 min) at start / end: ${loadStart.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; Dovecot 2.3 POP3 on loopback (login processes reused), devicepassd in its own process; ${PIN ? `devicepassd pinned to CPU ${PIN.daemon}, load generator and upstreams to CPU ${PIN.others}` : 'all on the same cores'}`,
      `${RUNS} runs, medians; ${LOGINS} logins per run and path over ${CONCURRENCY} connections at once, in ${SLICES} alternating slices; ${SERIAL} one-at-a-time PASS steps per path`,
      '',
      '| measure | via devicepass | straight to Dovecot | target |',
      '| --- | --- | --- | --- |',
      `| logins/s (connect, greeting, USER, PASS, +OK, QUIT) | ${median(r.via).toFixed(0)} | ${median(r.direct).toFixed(0)} | ≥ 0.9 × straight with devicepassd on its own core (measured ${median(r.ratio).toFixed(2)} ×) |`,
      `| whole login p50 / p99 | ${ms(median(r.viaP50))} / ${ms(median(r.viaP99))} | ${ms(median(r.directP50))} / ${ms(median(r.directP99))} | — |`,
      `| PASS step alone, one at a time, p50 / p99 | ${ms(percentile(steps.dovecot, 50))} / ${ms(percentile(steps.dovecot, 99))} | ${ms(percentile(steps.direct, 50))} / ${ms(percentile(steps.direct, 99))} | — |`,
      `| devicepass's own PASS step (warm cache, instant upstream), p50 / p99 | ${ms(percentile(steps.instant, 50))} / ${ms(percentile(steps.instant, 99))} | — | p99 < 5 ms |`,
      `| of which opening the upstream session (openPop3Upstream alone, instant upstream), p50 / p99 | ${ms(percentile(opens, 50))} / ${ms(percentile(opens, 99))} | — | — |`,
      `| host's stolen time during those steps (/proc/stat steal, both vCPUs) | ${(stolenShare * 100).toFixed(2)} % | — | — |`,
      `| ${IDLE.toLocaleString('en')} idle proxied TLS sessions: daemon RSS / JS heap / external per session | ${memory.rssKiB.toFixed(1)} / ${memory.heapKiB.toFixed(1)} / ${memory.externalKiB.toFixed(1)} KiB | — | ≤ 50 KiB RSS |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const child of children.reverse()) await stop(child);
    await dovecot.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
