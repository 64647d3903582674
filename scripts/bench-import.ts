/**
 * Hot-login latency while `import passwd-file` runs, against the same
 * daemon quiet (the reference, in the same run). The daemon runs in this
 * process with its control socket; the import is sent by the real CLI in a
 * child process, as an operator would. A login is started every 2 ms from a
 * timer and its latency counted from when it was due, so a stalled event
 * loop shows in full (no coordinated omission). Usage:
 *   npm run build && node dist/scripts/bench-import.js [--runs 3 --lines 100000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConfig } from '../src/config/load.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { silentLogger } from '../src/log/logger.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const RUNS = Number(args.get('runs') ?? 3);
const LINES = Number(args.get('lines') ?? 100_000);
const QUIET_MS = Number(args.get('quiet-ms') ?? 5000);
const INTERVAL_MS = 2;
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'devicepass.js');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

function passwdFile(lines: number, run: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`user${i}@run${run}.example:{SHA512-CRYPT}$6$salt${i % 1000}$${'x'.repeat(86)}::::::`);
  return `${out.join('\n')}\n`;
}

/** Starts a hot login every INTERVAL_MS until `until` resolves; returns each latency from when it was due. */
async function hotLogins(daemon: Daemon, password: string, until: Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const attempt = { address: 'hot@example.com', password, protocol: 'imap' as const, clientIp: '192.0.2.1', trusted: false, clientName: 'bench' };
  let done = false;
  void until.finally(() => (done = true));
  const started = performance.now();
  let due = started;
  const inFlight: Array<Promise<void>> = [];
  while (!done) {
    // every login that fell due while the loop was away is started now, and counted from its due time
    const now = performance.now();
    while (due <= now) {
      const at = due;
      inFlight.push(daemon.authenticator.authenticate(attempt).then((r) => {
        if (!r.ok) throw new Error(`hot login failed: ${r.reason}`);
        latencies.push(performance.now() - at);
      }));
      due += INTERVAL_MS;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await Promise.all(inFlight);
  return latencies;
}

function runCli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

async function main(): Promise<void> {
  const rows: Array<{ quietP50: number; quietP99: number; importP50: number; importP99: number; max: number; importSeconds: number; logins: number }> = [];
  for (let run = 0; run < RUNS; run++) {
    const dir = mkdtempSync(path.join(tmpdir(), 'dp-bench-import-'));
    const daemon = await startDaemon(
      buildConfig({ data_dir: dir, log: { level: 'silent' }, imap: { listen: [], listen_tls: [] }, smtp: { listen: [], listen_tls: [] }, http: { listen: [] }, dovecot_auth: { listen: [] } }),
      silentLogger,
    );
    try {
      await daemon.admin.addAddress('hot@example.com', 'bench');
      const { password } = await daemon.admin.addDevice('hot@example.com', { name: 'phone' }, 'bench');
      // the proof is cached: every measured login is a hot one
      const warm = await daemon.authenticator.authenticate({ address: 'hot@example.com', password, protocol: 'imap', clientIp: '192.0.2.1', trusted: false });
      if (!warm.ok) throw new Error('warm-up login failed');
      const file = path.join(dir, 'users.passwd');
      writeFileSync(file, passwdFile(LINES, run));
      const quiet = await hotLogins(daemon, password, new Promise((r) => setTimeout(r, QUIET_MS)));
      const t0 = performance.now();
      const importing = runCli(['--socket', daemon.config.control.socket, 'import', 'passwd-file', file]);
      const during = await hotLogins(daemon, password, importing);
      const result = await importing;
      const importSeconds = (performance.now() - t0) / 1000;
      if (result.code !== 0) throw new Error(`import failed: ${result.out}`);
      const generics = (await daemon.admin.listAddresses()).filter((a) => a.generic).length;
      if (generics !== LINES) throw new Error(`imported ${generics}, expected ${LINES}`);
      const row = {
        quietP50: quantile(quiet, 0.5), quietP99: quantile(quiet, 0.99),
        importP50: quantile(during, 0.5), importP99: quantile(during, 0.99), max: Math.max(...during), importSeconds, logins: during.length,
      };
      rows.push(row);
      console.log(`run ${run + 1}: quiet p50 ${row.quietP50.toFixed(2)} ms p99 ${row.quietP99.toFixed(2)} ms | during import p50 ${row.importP50.toFixed(2)} ms p99 ${row.importP99.toFixed(2)} ms max ${row.max.toFixed(1)} ms (${row.logins} logins) | import of ${LINES} lines ${row.importSeconds.toFixed(1)} s`);
    } finally {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const m = (key: keyof (typeof rows)[number]) => median(rows.map((r) => r[key]));
  console.log(`\n${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, node ${process.version}, ${RUNS} runs, ${LINES} lines`);
  console.log('| | hot login p50 | hot login p99 | max | import time |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| quiet (reference) | ${m('quietP50').toFixed(2)} ms | ${m('quietP99').toFixed(2)} ms | | |`);
  console.log(`| during import | ${m('importP50').toFixed(2)} ms | ${m('importP99').toFixed(2)} ms | ${m('max').toFixed(1)} ms | ${m('importSeconds').toFixed(1)} s |`);
}

await main();
