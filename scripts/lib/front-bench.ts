/**
 * What the IMAP and POP3 front benchmarks share: their flags, a devicepassd
 * with only the one front on (and the memory probe preloaded), the instant
 * upstream in its own process, percentiles, and the host's stolen time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { spawnDevicepassd } from '../e2e/devicepassd.js';
import { freePort, type Pinning } from '../e2e/host.js';
import { quantile, sortedCopy } from './stats.js';

export const E2E_DIST = path.join(PACKAGE_ROOT, 'dist', 'scripts', 'e2e');
export const BENCH_ADDRESS = 'bench@example.com';

/** `--name value` pairs from the command line. */
export function benchArgs(argv = process.argv.slice(2)): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) args.set(argv[i]!.replace(/^--/, ''), argv[i + 1] ?? '');
  return args;
}

/** --pin 1: devicepassd on CPU 0, the load generator and the upstreams on CPU 1 (see host.ts). */
export function pinningOf(args: Map<string, string>): Pinning | null {
  return args.get('pin') === '1' ? { daemon: '0', others: '1' } : null;
}

export const median = (values: readonly number[]): number => quantile(sortedCopy(values), 0.5);
/** `p` in percent. */
export const percentile = (values: readonly number[], p: number): number => quantile(sortedCopy(values), p / 100);

/** What scripts/e2e/memory-probe.ts answers. */
export interface ProbeReading {
  rss: number;
  heapUsed: number;
  external: number;
  /** V8 heap space name → its size in bytes. */
  spaces: Record<string, number>;
}

export interface BenchDevicepass {
  child: ChildProcess;
  plainPort: number;
  tlsPort: number;
  /** The device's password for BENCH_ADDRESS. */
  password: string;
  /** The daemon's memory after a full GC. */
  memory(): Promise<ProbeReading>;
}

export interface BenchFront {
  front: 'imap' | 'pop3';
  upstream: { port: number; user: string; pass: string };
  /** Extra keys for the front's section (connection limits). */
  sectionExtra?: string;
  pin: Pinning | null;
}

const ALL_FRONTS = ['imap', 'pop3', 'smtp'] as const;

/** devicepassd with `front` alone listening (plaintext and implicit TLS) before `upstream`, and a device with that scope. */
export async function startBenchDevicepass(dir: string, o: BenchFront): Promise<BenchDevicepass> {
  const [plainPort, tlsPort] = [await freePort(), await freePort()];
  const sections = ALL_FRONTS.map((name) =>
    name === o.front
      ? `[${name}]
listen = ["127.0.0.1:${plainPort}"]
listen_tls = ["127.0.0.1:${tlsPort}"]
${o.sectionExtra ?? ''}
[${name}.upstream]
host = "127.0.0.1"
port = ${o.upstream.port}
tls = "none"
master_user = ${JSON.stringify(o.upstream.user)}
master_password = ${JSON.stringify(o.upstream.pass)}
`
      : `[${name}]\nlisten = []\nlisten_tls = []\n`,
  ).join('');
  const { child, cli } = await spawnDevicepassd(dir, `${sections}[dovecot_auth]\nlisten = []\n[http]\nlisten = []\n[web]\nlisten = []\n`, {
    nodeArgs: ['--expose-gc', '--import', path.join(E2E_DIST, 'memory-probe.js')],
    ipc: true,
    // a line per login, as installed; Dovecot logs its own login and logout lines into its file too
    logLevel: 'info',
    ...(o.pin ? { cpus: o.pin.daemon } : {}),
  });
  await cli('address', 'add', BENCH_ADDRESS);
  const { stdout } = await cli('device', 'add', BENCH_ADDRESS, '--name', 'bench', '--scopes', o.front);
  const memory = async () => {
    child.send('memory');
    const [m] = (await once(child, 'message')) as [ProbeReading];
    return m;
  };
  return { child, plainPort, tlsPort, password: (JSON.parse(stdout) as { password: string }).password, memory };
}

/** scripts/e2e/instant-<front>-upstream.ts in its own process; it prints its port. */
export async function startInstantUpstream(front: 'imap' | 'pop3'): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [path.join(E2E_DIST, `instant-${front}-upstream.js`)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, port: Number(chunk.toString().trim()) };
}

export async function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/**
 * CPU time the hypervisor gave to other guests while this one wanted it
 * (the "steal" column of /proc/stat, every vCPU), in ms: on a shared host
 * it arrives as stalls of a few ms, which is what a p99 of a ~1 ms step sees.
 */
export function stolenMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  // "cpu user nice system idle iowait irq softirq steal …" in USER_HZ (100 on Linux)
  return Number(fields[8] ?? 0) * 10;
}
