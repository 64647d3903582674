/**
 * Benchmarks devicepass on several nodes sharing one PostgreSQL (a private
 * server, scripts/e2e/postgres.ts: loopback, fsync off), next to SQLite:
 *   1. hot and cold logins/s of one node in process (the Authenticator, as
 *      scripts/bench-auth.ts drives it), SQLite and the PostgreSQL cluster
 *      driver taking turns;
 *   2. how long `device revoke` (CredentialAdmin.revokeDevice on node A, in
 *      this process) takes to return with 1 node and with 3 (B and C are
 *      devicepassd processes on the same database);
 *   3. a session proxied through node B's IMAP front (in front of an instant
 *      upstream), its device revoked on A: how soon after the call was
 *      issued, and after it returned, the client sees the session end.
 * Each figure is the median over runs of that run's rate or percentile. Usage:
 *   npm run bench:cluster [-- --runs 5 --hot 200000 --cold 200 --revocations 200 --sessions 200]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { buildConfig } from '../src/config/load.js';
import { formatParams } from '../src/credentials/digest.js';
import { hashParams } from '../src/daemon.js';
import { PG_BIN, startPostgres } from './e2e/postgres.js';
import { bareArgon2, coldLogins, hotLogins } from './lib/cluster-logins.js';
import { openNode, startPeerNode, type DriverKind, type InProcessNode, type PeerNode } from './lib/cluster-nodes.js';
import { disconnectTimes, revocationTimes, type DisconnectTimes } from './lib/cluster-revocation.js';
import { benchArgs, median, percentile, startInstantUpstream, stolenMs, stopChild } from './lib/front-bench.js';

const args = benchArgs();
const RUNS = Number(args.get('runs') ?? 5);
const HOT = Number(args.get('hot') ?? 200_000);
const COLD = Number(args.get('cold') ?? 200);
const REVOCATIONS = Number(args.get('revocations') ?? 200);
const SESSIONS = Number(args.get('sessions') ?? 200);

interface Results {
  hot: Record<DriverKind, number[]>;
  hotQueries: number[];
  cold: Record<DriverKind, number[]>;
  bare: number[];
  revokeP50: Record<1 | 3, number[]>;
  revokeP99: Record<1 | 3, number[]>;
  revokeAll: Record<1 | 3, number[]>;
  cut: DisconnectTimes[];
}

/** Folders this run made; whatever is left of them goes on exit, an interrupted run included. */
const scratch = new Set<string>();

function freshDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dp-bench-'));
  scratch.add(dir);
  return dir;
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  scratch.delete(dir);
}

async function inFreshDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = freshDir();
  try {
    return await body(dir);
  } finally {
    removeDir(dir);
  }
}

const fmtRate = (n: number) => Math.round(n).toLocaleString('en');
const fmtMs = (n: number) => `${n.toFixed(1)} ms`;

function pgVersion(): string {
  const out = spawnSync(path.join(PG_BIN, 'postgres'), ['--version'], { encoding: 'utf8' });
  return out.stdout.trim() || 'PostgreSQL (unknown version)';
}

function table(r: Results, host: { loadStart: number; stolenStart: number; startedAt: number }): string {
  const ofBare = (kind: DriverKind) => median(r.cold[kind].map((rate, i) => rate / r.bare[i]!)).toFixed(2);
  const stolen = (stolenMs() - host.stolenStart) / (performance.now() - host.startedAt) / cpus().length;
  const cutMedian = (pick: (t: DisconnectTimes) => number[], p: number) => median(r.cut.map((t) => percentile(pick(t), p)));
  const before = r.cut.reduce((n, t) => n + t.fromReturn.filter((ms) => ms <= 0).length, 0);
  const cuts = r.cut.reduce((n, t) => n + t.fromReturn.length, 0);
  const pooled = (nodes: 1 | 3) => percentile(r.revokeAll[nodes], 99);
  return [
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${pgVersion()} on loopback (fsync off); load average ${host.loadStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end; ${(stolen * 100).toFixed(1)} % of the CPU time stolen by the hypervisor`,
    `argon2id: ${formatParams(hashParams(buildConfig({})))}; ${RUNS} runs, medians of each run's figure; hot ${HOT} logins, cold ${COLD}, ${REVOCATIONS} revocations per node count, ${SESSIONS} sessions cut`,
    '',
    '| measure | SQLite | PostgreSQL cluster driver | target |',
    '| --- | --- | --- | --- |',
    `| hot logins/s, one node in process | ${fmtRate(median(r.hot.sqlite))} | ${fmtRate(median(r.hot.postgres))} (${median(r.hotQueries).toFixed(4)} statements per login) | ≥ 20,000 (PostgreSQL) |`,
    `| cold logins/s (cache off), 16 devices in flight | ${median(r.cold.sqlite).toFixed(1)} (${ofBare('sqlite')}× bare) | ${median(r.cold.postgres).toFixed(1)} (${ofBare('postgres')}× bare) | argon2id-bound: bare argon2id ${median(r.bare).toFixed(1)}/s, two in flight |`,
    '',
    '| measure | p50 | p99 | p99 of all runs together | target |',
    '| --- | --- | --- | --- | --- |',
    ...([1, 3] as const).map((n) => `| device revoke returns, ${n} node${n > 1 ? 's' : ''} | ${fmtMs(median(r.revokeP50[n]))} | ${fmtMs(median(r.revokeP99[n]))} | ${fmtMs(pooled(n))} | p99 < 100 ms |`),
    `| revoke on A, sessions on B: call returns | ${fmtMs(cutMedian((t) => t.call, 50))} | ${fmtMs(cutMedian((t) => t.call, 99))} | ${fmtMs(percentile(r.cut.flatMap((t) => t.call), 99))} | — |`,
    `| session on B sees its end, from the call issued on A | ${fmtMs(cutMedian((t) => t.fromIssue, 50))} | ${fmtMs(cutMedian((t) => t.fromIssue, 99))} | ${fmtMs(percentile(r.cut.flatMap((t) => t.fromIssue), 99))} | p99 < 100 ms |`,
    `| session on B sees its end, from the call returned on A | ${fmtMs(cutMedian((t) => t.fromReturn, 50))} | ${fmtMs(cutMedian((t) => t.fromReturn, 99))} | ${fmtMs(percentile(r.cut.flatMap((t) => t.fromReturn), 99))} | p99 < 100 ms |`,
    '',
    `sessions that had seen their end before the revoke call returned on A: ${before} of ${cuts} (negative times above); `
      + `the latest end, counted from the return: ${fmtMs(Math.max(...r.cut.flatMap((t) => t.fromReturn)))}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const host = { loadStart: loadavg()[0]!, stolenStart: stolenMs(), startedAt: performance.now() };
  const server = await startPostgres();
  const peers: PeerNode[] = [];
  const open: InProcessNode[] = [];
  let upstream: Awaited<ReturnType<typeof startInstantUpstream>> | null = null;
  // Ctrl-C or a kill: the exit handler below must still run
  const bail = () => process.exit(130);
  process.once('SIGINT', bail);
  process.once('SIGTERM', bail);
  // what the finally block did not get to: synchronous, as exit handlers must be
  const leaveNothing = () => {
    for (const peer of peers) if (peer.child.exitCode === null) peer.child.kill('SIGKILL');
    if (upstream?.child.exitCode === null) upstream.child.kill('SIGKILL');
    void server.stop();
    for (const dir of scratch) removeDir(dir);
  };
  process.once('exit', leaveNothing);
  try {
    const clusterUrl = await server.createDatabase();
    const soloUrl = await server.createDatabase();
    upstream = await startInstantUpstream('imap');
    // A opens first and migrates the schema; B has the IMAP front, C only takes changes in and acknowledges them
    const solo = await openNode('postgres', freshDir(), soloUrl, 100_000);
    open.push(solo);
    const nodeA = await openNode('postgres', freshDir(), clusterUrl, 100_000);
    open.push(nodeA);
    const nodeB = await startPeerNode(freshDir(), clusterUrl, upstream.port, SESSIONS);
    peers.push(nodeB);
    peers.push(await startPeerNode(freshDir(), clusterUrl, null, 0));

    const r: Results = {
      hot: { sqlite: [], postgres: [] }, hotQueries: [], cold: { sqlite: [], postgres: [] }, bare: [],
      revokeP50: { 1: [], 3: [] }, revokeP99: { 1: [], 3: [] }, revokeAll: { 1: [], 3: [] }, cut: [],
    };
    for (let run = 1; run <= RUNS; run++) {
      // the host's speed drifts: the drivers take turns, first one then the other
      const order: DriverKind[] = run % 2 === 1 ? ['sqlite', 'postgres'] : ['postgres', 'sqlite'];
      for (const kind of order) {
        const url = kind === 'postgres' ? await server.createDatabase() : '';
        const hot = await inFreshDir((dir) => hotLogins(kind, dir, url, HOT));
        r.hot[kind].push(hot.rate);
        if (kind === 'postgres') r.hotQueries.push(hot.queriesPerLogin);
      }
      r.bare.push(await bareArgon2(COLD));
      for (const kind of order) {
        const url = kind === 'postgres' ? await server.createDatabase() : '';
        r.cold[kind].push(await inFreshDir((dir) => coldLogins(kind, dir, url, COLD)));
      }
      for (const nodes of run % 2 === 1 ? ([1, 3] as const) : ([3, 1] as const)) {
        const times = await revocationTimes((nodes === 1 ? solo : nodeA).core, `revoke-${run}-${nodes}@example.com`, REVOCATIONS);
        r.revokeP50[nodes].push(percentile(times, 50));
        r.revokeP99[nodes].push(percentile(times, 99));
        r.revokeAll[nodes].push(...times);
      }
      r.cut.push(await disconnectTimes(nodeA.core, nodeB.imapPort!, `cut-${run}@example.com`, SESSIONS));
      const cut = r.cut.at(-1)!;
      process.stderr.write(`run ${run}/${RUNS}: hot ${fmtRate(r.hot.sqlite.at(-1)!)} / ${fmtRate(r.hot.postgres.at(-1)!)} per s (SQLite / PostgreSQL), `
        + `cold ${r.cold.sqlite.at(-1)!.toFixed(1)} / ${r.cold.postgres.at(-1)!.toFixed(1)}; revoke p99 ${fmtMs(r.revokeP99[1].at(-1)!)} (1 node), ${fmtMs(r.revokeP99[3].at(-1)!)} (3 nodes); `
        + `cut p99 ${fmtMs(percentile(cut.fromIssue, 99))} from issue, ${fmtMs(percentile(cut.fromReturn, 99))} from return\n`);
    }
    process.stdout.write(`${table(r, host)}\n`);
  } finally {
    for (const peer of peers) await peer.stop();
    if (upstream) await stopChild(upstream.child);
    for (const node of open) await node.close().catch(() => undefined);
    await server.stop();
    for (const dir of scratch) removeDir(dir);
  }
}

await main();
