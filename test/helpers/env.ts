import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConfig, type Config } from '../../src/config/load.js';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../src/daemon-node-flags.js';
import { frontSections, type FrontSections } from '../../scripts/e2e/devicepassd.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Small argon2id parameters: the behaviour under test does not depend on the cost. */
export const FAST_HASHING = { memory_kib: 1024, iterations: 1, parallelism: 1 };

/** Short paths: Unix socket paths are limited to ~107 bytes. */
export function tempDir(prefix = 'dp'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join('/tmp', `${prefix}-`));
  chmodSync(dir, 0o755);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Every network front off unless a test turns it on: the defaults are fixed
 * ports, and tests run side by side. Unix-socket surfaces live under the
 * test's own folder, so they may stay.
 */
const NO_FRONTS = {
  imap: { listen: [], listen_tls: [] },
  pop3: { listen: [], listen_tls: [] },
  smtp: { listen: [], listen_tls: [] },
  http: { listen: [] },
  web: { listen: [] },
};

type Tree = Record<string, unknown>;
const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Merges `overrides` into `base` section by section (arrays and values replace). */
export function deepMerge(base: Tree, overrides: Tree): Tree {
  const merged: Tree = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    merged[key] = isTree(current) && isTree(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

/** A config object as the daemon would load it, with data under `dir`; `overrides` merge section by section. */
export function testConfig(dir: string, overrides: Tree = {}): Config {
  return buildConfig(deepMerge({ data_dir: dir, hashing: FAST_HASHING, log: { level: 'silent' }, ...NO_FRONTS }, overrides));
}

export type { FrontSections };

/**
 * Writes a TOML config for a daemon process (`name` under `dir`, network
 * fronts off unless `fronts` turns one on) and returns its path; `extra` must not repeat
 * [imap], [pop3], [smtp], [http] or [web] (their subsections, such as
 * [imap.upstream], are fine).
 */
export function writeConfig(dir: string, extra = '', fronts: FrontSections = {}, name = 'devicepass.toml'): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `data_dir = ${JSON.stringify(dir)}
[log]
level = "info"
[hashing]
memory_kib = ${FAST_HASHING.memory_kib}
iterations = ${FAST_HASHING.iterations}
parallelism = 1
${frontSections(fronts)}
${extra}
`,
  );
  return file;
}

export interface DaemonProcess {
  child: ChildProcess;
  socket: string;
  /** Everything the daemon logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

/** Starts `bin/devicepassd.js --config FILE` and waits until its control socket answers. */
export async function startDaemonProcess(configFile: string, socket: string): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, path.join(ROOT, 'bin', 'devicepassd.js'), '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...DAEMON_ENV },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(socket))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`devicepassd did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    socket,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socket);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `devicepass` CLI as a child process. */
export function cli(args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'devicepass.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
