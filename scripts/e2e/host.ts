/** What every standalone-server launcher needs from the host: commands, users, free loopback ports. */
import { execFile, execFileSync } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** The uid and gid a server drops privileges to (postfix, dovecot, mail). */
export async function ids(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const probe = net.connect(port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * CPU placement for benchmarks that time devicepass's own step: the daemon
 * on `daemon`, this process (the load generator) and everything it starts
 * afterwards (upstreams, Dovecot) on `others` — as if the client and the
 * servers behind were other hosts. Null when the benchmark runs unpinned.
 */
export interface Pinning {
  daemon: string;
  others: string;
}

/** Moves every thread of this process to `cpus`; children started later inherit it. */
export function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

/** The command line that starts `argv` on `cpus` (or as is, unpinned). */
export function onCpus(cpus: string | undefined, argv: string[]): [string, string[]] {
  return cpus ? ['taskset', ['-c', cpus, ...argv]] : [argv[0]!, argv.slice(1)];
}
