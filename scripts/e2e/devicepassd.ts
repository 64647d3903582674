/** devicepassd as its own process for the benchmarks, as in production: the load generator must not share its event loop. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../src/daemon-node-flags.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { onCpus } from './host.js';

/** The TOML body of each network front's section; a front not named stays off. */
export type FrontSections = Partial<Record<'imap' | 'pop3' | 'smtp' | 'http' | 'web', string>>;

const FRONTS_OFF: Required<FrontSections> = {
  imap: 'listen = []\nlisten_tls = []',
  pop3: 'listen = []\nlisten_tls = []',
  smtp: 'listen = []\nlisten_tls = []',
  http: 'listen = []',
  web: 'listen = []',
};

/**
 * The [imap], [pop3], [smtp], [http] and [web] sections of a daemon's TOML
 * config, each front off unless `fronts` gives its body: their defaults are
 * fixed ports, which a benchmark or a test running beside others must not take.
 */
export function frontSections(fronts: FrontSections = {}): string {
  return Object.entries({ ...FRONTS_OFF, ...fronts }).map(([name, body]) => `[${name}]\n${body}`).join('\n');
}

export interface DevicepassProcess {
  child: ChildProcess;
  /** The `devicepass` CLI against this daemon, with --json. */
  cli(...argv: string[]): Promise<{ stdout: string }>;
  stop(): Promise<void>;
}

/**
 * Writes `bench.toml` (data under `dir`, then `sections`, which must turn off
 * what the benchmark does not use: see frontSections), starts the daemon and waits until its
 * control socket answers `status`.
 */
export async function spawnDevicepassd(
  dir: string,
  sections: string,
  options: {
    nodeArgs?: string[];
    ipc?: boolean;
    /** taskset CPU list, e.g. "0" */
    cpus?: string;
    /** [log] level; "info" is the default of a real installation and writes a line per login. Default "error". */
    logLevel?: 'error' | 'info';
  } = {},
): Promise<DevicepassProcess> {
  const config = path.join(dir, 'bench.toml');
  writeFileSync(config, `data_dir = ${JSON.stringify(dir)}\n[log]\nlevel = "${options.logLevel ?? 'error'}"\n${sections}`);
  // the daemon logs to stderr: into a file, as the servers it is compared with log into theirs
  // (stdout too, where V8 writes what BENCH_DAEMON_NODE_ARGS="--trace-gc" asks for)
  const logFile = path.join(dir, 'devicepassd.log');
  const logFd = openSync(logFile, 'a');
  const stdio: Array<'ignore' | 'ipc' | number> = ['ignore', logFd, logFd, ...(options.ipc ? (['ipc'] as const) : [])];
  // BENCH_DAEMON_NODE_ARGS: extra Node flags for profiling, e.g. "--perf-basic-prof" for `perf record -p <pid>`
  const extra = process.env['BENCH_DAEMON_NODE_ARGS']?.split(' ').filter((a) => a !== '') ?? [];
  const [command, argv] = onCpus(options.cpus, [process.execPath, ...DAEMON_NODE_FLAGS, ...(options.nodeArgs ?? []), ...extra, path.join(PACKAGE_ROOT, 'bin', 'devicepassd.js'), '--config', config]);
  // taskset execs node in place, so the child's pid and signals are the daemon's
  const child = spawn(command, argv, { stdio, env: { ...process.env, ...DAEMON_ENV } });
  closeSync(logFd);
  const cli = (...argv: string[]) => promisify(execFile)(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'devicepass.js'), '--config', config, '--json', ...argv]);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await cli('status');
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`devicepassd did not start: ${String(err)}\nits log:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    child,
    cli,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
