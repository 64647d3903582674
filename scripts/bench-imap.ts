/**
 * Benchmarks the IMAP front against a real Dovecot on loopback
 * (scripts/e2e/dovecot.ts; needs root and Debian's dovecot-imapd):
 *   - logins/s and p50/p99 of one whole login (new connection, greeting,
 *     LOGIN, tagged OK, LOGOUT) through devicepass to Dovecot against
 *     straight to Dovecot (LOGIN "address*master"), in the same run;
 *   - devicepass's own LOGIN step (LOGIN sent → tagged OK) with a warm proof
 *     cache, one at a time, in front of an upstream that answers at once;
 *   - openUpstream alone against the same instant upstream;
 *   - devicepassd's CPU per login in front of that instant upstream, next to
 *     a bare Node proxy's (the floor) in the same place: devicepass's own
 *     cost per login, without Dovecot's processes competing for the cores;
 *   - memory per idle proxied session, TLS and plaintext (daemon RSS and heap
 *     after a full GC, before and after opening the sessions).
 * Each rate and latency is the median of several runs. Usage:
 *   npm run build && node dist/scripts/bench-imap.js [--runs 5 --logins 300 --concurrency 8 --warm-up 2000 --cpu-logins 3000 --serial 300 --idle 1000,9800 --parts logins,floor,cpu,steps,memory --pin 1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { openUpstream } from '../src/imap/proxy/upstream.js';
import { silentLogger } from '../src/log/logger.js';
import { ImapProbe } from './e2e/imap-probe.js';
import { startDovecot } from './e2e/dovecot.js';
import { onCpus, pinSelf } from './e2e/host.js';
import {
  BENCH_ADDRESS as ADDRESS, benchArgs, E2E_DIST as DIST, median, percentile, pinningOf, startBenchDevicepass, startInstantUpstream, stopChild as stop, type BenchDevicepass as Devicepass,
} from './lib/front-bench.js';

const args = benchArgs();
const RUNS = Number(args.get('runs') ?? 5);
const LOGINS = Number(args.get('logins') ?? 300);
const CONCURRENCY = Number(args.get('concurrency') ?? 8);
const SERIAL = Number(args.get('serial') ?? 300);
/** A proxied session holds two sockets in the daemon; its file limit here is 20,000, hence 9,800 rather than 10,000. */
const IDLE = (args.get('idle') ?? '1000,9800').split(',').map(Number);
/** Which parts to run: logins (rates), floor (the same through a bare Node proxy), cpu (CPU per login before the instant upstream), steps (one-at-a-time LOGIN steps), memory (idle sessions). */
const PARTS = new Set((args.get('parts') ?? 'logins,floor,cpu,steps,memory').split(','));
/** Logins per run of the cpu part: enough that /proc's 10 ms clock ticks are well under 1 % of the total. */
const CPU_LOGINS = Number(args.get('cpu-logins') ?? 3000);
/** Turns each path takes in one run of the logins part (each a slice of --logins). */
const SLICES = Number(args.get('slices') ?? 6);
/** Logins per path, 8 at a time, before anything is timed. */
const WARM_UP = Number(args.get('warm-up') ?? 2000);
/** --pin 1: devicepassd on CPU 0, the load generator and the upstreams on CPU 1 (see host.ts). */
const PIN = pinningOf(args);
/** User and system CPU time of a process so far, from /proc (Linux), in ms. */
function processTimes(pid: number): { user: number; system: number } {
  // fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1000) / CLOCK_TICKS, system: (Number(fields[12]) * 1000) / CLOCK_TICKS };
}
/** CPU time the whole host has been busy so far (every core, every process, kernel included), from /proc/stat, in ms. */
function hostBusyMs(): number {
  // "cpu  user nice system idle iowait irq softirq steal …": busy is everything but idle and iowait
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return ((total - fields[3]! - fields[4]!) * 1000) / CLOCK_TICKS;
}
function processCpuMs(pid: number): number {
  const { user, system } = processTimes(pid);
  return user + system;
}
/** Linux's USER_HZ, the unit of /proc/<pid>/stat times: 100 on every architecture Node runs on. */
const CLOCK_TICKS = 100;
const quote = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

interface Target {
  port: number;
  user: string;
  pass: string;
  tls?: boolean;
}

/** One whole login; returns [whole ms, LOGIN step ms]. */
async function loginOnce(target: Target): Promise<[number, number]> {
  const start = performance.now();
  const probe = await ImapProbe.connect(target.port, target.tls ?? false);
  try {
    const sent = performance.now();
    const status = await probe.command(`LOGIN ${quote(target.user)} ${quote(target.pass)}`);
    const step = performance.now() - sent;
    if (status !== 'OK') throw new Error(`LOGIN answered ${status}`);
    await probe.command('LOGOUT');
    return [performance.now() - start, step];
  } finally {
    probe.destroy();
  }
}

async function logins(target: Target, count = LOGINS): Promise<{ rate: number; times: number[] }> {
  const times: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < count) times.push((await loginOnce(target))[0]);
    }),
  );
  return { rate: (count / (performance.now() - start)) * 1000, times };
}

/** CPU time (µs) a process spends per login while `count` logins go through it: user + system, and system alone. */
async function cpuPerLogin(pid: number, target: Target, count: number): Promise<{ total: number; system: number }> {
  const before = processTimes(pid);
  await logins(target, count);
  const after = processTimes(pid);
  const perLogin = (ms: number) => (ms / count) * 1000;
  return { total: perLogin(after.user + after.system - before.user - before.system), system: perLogin(after.system - before.system) };
}

function startDevicepass(dir: string, upstream: { port: number; user: string; pass: string }): Promise<Devicepass> {
  const most = Math.max(...IDLE) + 1000;
  // every session of the benchmark comes from loopback, up to the largest idle count at once: one client network
  const limits = ['max_connections', 'max_connections_per_network', 'max_unauthenticated', 'max_unauthenticated_per_network'].map((key) => `${key} = ${most}`).join('\n');
  return startBenchDevicepass(dir, { front: 'imap', upstream, sectionExtra: limits, pin: PIN });
}

/** Opens `count` logged-in sessions (TLS or plaintext) through devicepass and leaves them idle; returns the daemon's memory growth per session. */
async function idleSessions(dp: Devicepass, count: number, secure: boolean): Promise<{ rssKiB: number; heapKiB: number; externalKiB: number; youngMiB: number }> {
  const before = await dp.memory();
  const open: ImapProbe[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next++ < count) {
        const probe = await ImapProbe.connect(secure ? dp.tlsPort : dp.plainPort, secure);
        const status = await probe.command(`LOGIN ${quote(ADDRESS)} ${quote(dp.password)}`);
        if (status !== 'OK') throw new Error(`idle session ${open.length + 1}: LOGIN answered ${status}`);
        open.push(probe);
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 2_000));
  const after = await dp.memory();
  for (const probe of open) probe.destroy();
  await new Promise((r) => setTimeout(r, 3_000));
  const kib = (a: number, b: number) => (a - b) / 1024 / count;
  return {
    rssKiB: kib(after.rss, before.rss),
    heapKiB: kib(after.heapUsed, before.heapUsed),
    externalKiB: kib(after.external, before.external),
    // V8's young generation as the sessions left it: what the daemon's --max-semi-space-size bounds
    youngMiB: (after.spaces['new_space'] ?? NaN) / 2 ** 20,
  };
}

/** The Node floor (scripts/e2e/floor-imap-proxy.ts) in its own process, on devicepassd's CPU when pinned. */
async function startFloorProxy(upstream: { port: number; user: string; pass: string }): Promise<{ child: ChildProcess; port: number }> {
  const [command, argv] = onCpus(PIN?.daemon, [process.execPath, path.join(DIST, 'floor-imap-proxy.js'), String(upstream.port), upstream.user, upstream.pass]);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, port: Number(chunk.toString().trim()) };
}

async function main(): Promise<void> {
  const loadStart = loadavg()[0]!;
  if (PIN) pinSelf(PIN.others);
  // imap_id_log off, as in production: with it, only logins through devicepass (which sends ID) would pay for a log line
  const dovecot = await startDovecot({ fastLogins: true, maxSessions: 400, logIds: false });
  const dirs = [mkdtempSync('/tmp/dpbi-'), mkdtempSync('/tmp/dpbi-')];
  const children: (ChildProcess | null)[] = [];
  try {
    const viaDovecot = await startDevicepass(dirs[0]!, { port: dovecot.port, user: dovecot.masterUser, pass: dovecot.masterPassword });
    children.push(viaDovecot.child);
    const instant = await startInstantUpstream('imap');
    children.push(instant.child);
    const viaInstant = await startDevicepass(dirs[1]!, { port: instant.port, user: 'master', pass: 'instant' });
    children.push(viaInstant.child);

    const through: Target = { port: viaDovecot.plainPort, user: ADDRESS, pass: viaDovecot.password };
    const direct: Target = { port: dovecot.port, user: `${ADDRESS}*${dovecot.masterUser}`, pass: dovecot.masterPassword };
    const floorProxy = PARTS.has('floor') ? await startFloorProxy({ port: dovecot.port, user: dovecot.masterUser, pass: dovecot.masterPassword }) : null;
    children.push(floorProxy?.child ?? null);
    const floor: Target | null = floorProxy ? { port: floorProxy.port, user: ADDRESS, pass: 'ignored' } : null;
    // warm up: the first login pays argon2id and fills the proof cache; Dovecot creates the Maildir;
    // then enough logins at full concurrency that V8 has compiled the hot paths of every Node process
    // (with 200 one-at-a-time logins only, devicepassd's CPU per login still fell by a third over the
    // next 3,000: that was its compiler's work, which a long-running daemon pays once)
    const instantTarget: Target = { ...through, port: viaInstant.plainPort, pass: viaInstant.password };
    for (let i = 0; i < 200; i++) {
      await Promise.all([loginOnce(through), loginOnce(direct), loginOnce(instantTarget), ...(floor ? [loginOnce(floor)] : [])]);
    }
    for (const target of [through, direct, instantTarget, ...(floor ? [floor] : [])]) await logins(target, WARM_UP);

    const r = { viaHostCpu: [] as number[], directHostCpu: [] as number[], floor: [] as number[], floorCpu: [] as number[], daemonCpu: [] as number[], via: [] as number[], viaP50: [] as number[], viaP99: [] as number[], direct: [] as number[], directP50: [] as number[], directP99: [] as number[] };
    // The host's speed drifts by a quarter within seconds (other guests on the same machine), so the
    // paths take turns in slices of a run, order rotating, and each path's rate is its logins over
    // its own time: both meet the same host.
    type Path = { target: Target; pid: number | null; elapsedMs: number; times: number[]; ownCpuMs: number; hostCpuMs: number };
    for (let run = 1; PARTS.has('logins') && run <= RUNS; run++) {
      const paths: Path[] = [
        { target: through, pid: viaDovecot.child.pid!, elapsedMs: 0, times: [], ownCpuMs: 0, hostCpuMs: 0 },
        { target: direct, pid: null, elapsedMs: 0, times: [], ownCpuMs: 0, hostCpuMs: 0 },
        ...(floor && floorProxy ? [{ target: floor, pid: floorProxy.child.pid!, elapsedMs: 0, times: [], ownCpuMs: 0, hostCpuMs: 0 }] : []),
      ];
      const perSlice = Math.ceil(LOGINS / SLICES);
      for (let slice = 0; slice < SLICES; slice++) {
        for (let i = 0; i < paths.length; i++) {
          const path = paths[(i + slice + run) % paths.length]!;
          const ownBefore = path.pid === null ? 0 : processCpuMs(path.pid);
          const hostBefore = hostBusyMs();
          const started = performance.now();
          const { times } = await logins(path.target, perSlice);
          path.elapsedMs += performance.now() - started;
          path.hostCpuMs += hostBusyMs() - hostBefore;
          if (path.pid !== null) path.ownCpuMs += processCpuMs(path.pid) - ownBefore;
          path.times.push(...times);
        }
      }
      const count = perSlice * SLICES;
      const [via, straight, bare] = paths as [Path, Path, Path | undefined];
      const rate = (p: Path) => (count / p.elapsedMs) * 1000;
      const perLogin = (ms: number) => (ms / count) * 1000;
      r.via.push(rate(via));
      r.viaP50.push(percentile(via.times, 50));
      r.viaP99.push(percentile(via.times, 99));
      r.viaHostCpu.push(perLogin(via.hostCpuMs));
      r.daemonCpu.push(perLogin(via.ownCpuMs));
      r.direct.push(rate(straight));
      r.directP50.push(percentile(straight.times, 50));
      r.directP99.push(percentile(straight.times, 99));
      r.directHostCpu.push(perLogin(straight.hostCpuMs));
      if (bare) {
        r.floor.push(rate(bare));
        r.floorCpu.push(perLogin(bare.ownCpuMs));
      }
      process.stderr.write(`logins run ${run}/${RUNS}: ${r.via.at(-1)!.toFixed(0)}/s via devicepass (devicepassd CPU ${r.daemonCpu.at(-1)!.toFixed(0)} µs per login, host ${r.viaHostCpu.at(-1)!.toFixed(0)} µs), ${r.direct.at(-1)!.toFixed(0)}/s straight (host ${r.directHostCpu.at(-1)!.toFixed(0)} µs) = ${(r.via.at(-1)! / r.direct.at(-1)!).toFixed(2)} ×${bare ? `, ${r.floor.at(-1)!.toFixed(0)}/s via the bare Node proxy (${r.floorCpu.at(-1)!.toFixed(0)} µs per login)` : ''}\n`);
    }

    // CPU per login with nothing but an instant upstream behind: devicepassd against the bare Node proxy
    const cpuUse = { daemon: [] as number[], daemonSystem: [] as number[], floor: [] as number[], floorSystem: [] as number[] };
    if (PARTS.has('cpu')) {
      const floorInstant = await startFloorProxy({ port: instant.port, user: 'master', pass: 'instant' });
      children.push(floorInstant.child);
      const floorTarget: Target = { port: floorInstant.port, user: ADDRESS, pass: 'ignored' };
      // the floor proxy's first logins compile its code; devicepassd was warmed up above
      await logins(floorTarget, WARM_UP);
      for (let run = 1; run <= RUNS; run++) {
        const daemon = await cpuPerLogin(viaInstant.child.pid!, instantTarget, CPU_LOGINS);
        const floorCpu = await cpuPerLogin(floorInstant.child.pid!, floorTarget, CPU_LOGINS);
        cpuUse.daemon.push(daemon.total);
        cpuUse.daemonSystem.push(daemon.system);
        cpuUse.floor.push(floorCpu.total);
        cpuUse.floorSystem.push(floorCpu.system);
        process.stderr.write(`cpu run ${run}/${RUNS}: devicepassd ${daemon.total.toFixed(0)} µs per login (system ${daemon.system.toFixed(0)}), bare Node proxy ${floorCpu.total.toFixed(0)} µs (system ${floorCpu.system.toFixed(0)}) (instant upstream)\n`);
      }
    }

    // LOGIN step alone, one at a time: devicepass before an instant upstream, and the same step through to Dovecot and straight to it
    const steps = { instant: [] as number[], dovecot: [] as number[], direct: [] as number[] };
    // devicepass's own step runs as its own series: interleaved with Dovecot logins it would also time
    // Dovecot's imap processes starting and exiting on the same two cores
    for (let i = 0; PARTS.has('steps') && i < SERIAL; i++) {
      steps.instant.push((await loginOnce({ port: viaInstant.plainPort, user: ADDRESS, pass: viaInstant.password }))[1]);
    }
    for (let i = 0; PARTS.has('steps') && i < SERIAL; i++) {
      steps.dovecot.push((await loginOnce(through))[1]);
      steps.direct.push((await loginOnce(direct))[1]);
    }

    // openUpstream alone (this process → the instant upstream): the proxy's share of the LOGIN step
    const opens: number[] = [];
    const login = { address: ADDRESS, clientIp: '192.0.2.1', clientPort: 40000, localIp: '127.0.0.1', localPort: 143, clientId: null, sessionId: 'bench' };
    const instantCfg = { host: '127.0.0.1', port: instant.port, tls: 'none' as const, master_user: 'master', master_password: 'instant' };
    for (let i = 0; PARTS.has('steps') && i < SERIAL; i++) {
      const start = performance.now();
      const session = await openUpstream(instantCfg, login, silentLogger);
      opens.push(performance.now() - start);
      session.socket.destroy();
    }

    const memory: string[] = [];
    if (PARTS.has('memory')) {
      // each measurement in a fresh daemon: memory freed by an earlier one would hide the next one's growth
      for (const [count, secure] of [...IDLE.map((c) => [c, true] as const), [IDLE[0]!, false] as const]) {
        const dir = mkdtempSync('/tmp/dpbm-');
        dirs.push(dir);
        const fresh = await startDevicepass(dir, { port: instant.port, user: 'master', pass: 'instant' });
        try {
          await loginOnce({ port: fresh.plainPort, user: ADDRESS, pass: fresh.password });
          const m = await idleSessions(fresh, count, secure);
          memory.push(`| ${count.toLocaleString('en')} idle ${secure ? 'TLS' : 'plaintext'} sessions | ${m.rssKiB.toFixed(1)} KiB | ${m.heapKiB.toFixed(1)} KiB | ${m.externalKiB.toFixed(1)} KiB | ${m.youngMiB.toFixed(0)} MiB |`);
          process.stderr.write(`idle ${count} ${secure ? 'TLS' : 'plain'}: ${m.rssKiB.toFixed(1)} KiB RSS per session\n`);
        } finally {
          await stop(fresh.child);
        }
      }
    }
    // the ratio of each run (both paths met the same host), then their median
    const ratio = median(r.via.map((via, i) => via / r.direct[i]!));
    const floorRatio = median(r.floor.map((bare, i) => bare / r.direct[i]!));
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    const lines = [
      `load average (1 min) at start / end: ${loadStart.toFixed(1)} / ${loadavg()[0]!.toFixed(1)} — other work on the machine shows up in the p99s`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; Dovecot 2.3 on loopback (login processes reused), devicepassd in its own process; load generator in the benchmark process, ${PIN ? `devicepassd pinned to CPU ${PIN.daemon}, load generator and upstreams to CPU ${PIN.others}` : 'all on the same cores'}`,
      `${RUNS} runs, medians; ${LOGINS} logins per run and path over ${CONCURRENCY} connections at once; ${SERIAL} one-at-a-time LOGIN steps per path`,
      '',
      '| measure | via devicepass | straight to Dovecot | target |',
      '| --- | --- | --- | --- |',
      `| logins/s (connect, greeting, LOGIN, OK, LOGOUT) | ${median(r.via).toFixed(0)} | ${median(r.direct).toFixed(0)} | via ≥ 0.9 × straight (measured ${ratio.toFixed(2)} ×) |`,
      `| whole host's CPU per login (every process on every core, load generator included; /proc/stat) | ${median(r.viaHostCpu).toFixed(0)} µs | ${median(r.directHostCpu).toFixed(0)} µs | — |`,
      `| devicepassd CPU per login (user + system, from /proc) | ${median(r.daemonCpu).toFixed(0)} µs | — | — |`,
      ...(r.floor.length > 0
        ? [`| the Node floor: logins/s through a bare Node proxy (floor-imap-proxy.ts), its CPU per login | ${median(r.floor).toFixed(0)} (${floorRatio.toFixed(2)} × straight), ${median(r.floorCpu).toFixed(0)} µs | — | — |`]
        : []),
      ...(cpuUse.daemon.length > 0
        ? [`| CPU per login before the instant upstream (${CPU_LOGINS} logins per run): devicepassd / the bare Node proxy (of which system) | ${median(cpuUse.daemon).toFixed(0)} µs (${median(cpuUse.daemonSystem).toFixed(0)}) / ${median(cpuUse.floor).toFixed(0)} µs (${median(cpuUse.floorSystem).toFixed(0)}) | — | — |`]
        : []),
      `| whole login p50 / p99 | ${ms(median(r.viaP50))} / ${ms(median(r.viaP99))} | ${ms(median(r.directP50))} / ${ms(median(r.directP99))} | — |`,
      `| LOGIN step alone, one at a time, p50 / p99 | ${ms(percentile(steps.dovecot, 50))} / ${ms(percentile(steps.dovecot, 99))} | ${ms(percentile(steps.direct, 50))} / ${ms(percentile(steps.direct, 99))} | — |`,
      `| devicepass's own LOGIN step (warm cache, instant upstream), p50 / p99 | ${ms(percentile(steps.instant, 50))} / ${ms(percentile(steps.instant, 99))} | — | p99 < 5 ms |`,
      `| of which opening the upstream session (openUpstream alone, instant upstream), p50 / p99 | ${ms(percentile(opens, 50))} / ${ms(percentile(opens, 99))} | — | — |`,
      '',
      '| idle proxied sessions (instant upstream) | daemon RSS per session | JS heap per session | external per session | young generation after |',
      '| --- | --- | --- | --- | --- |',
      ...memory,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const child of children.reverse()) await stop(child);
    await dovecot.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
