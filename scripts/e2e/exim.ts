/**
 * A real Exim from Debian for the end-to-end suites, without installing it:
 * Debian's exim4 packages conflict with postfix (both provide
 * mail-transport-agent), and the other suites need Postfix. So the .deb is
 * fetched with `apt-get download` and unpacked with `dpkg -x` once into a
 * cache folder, and each test runs that binary with its own config (`-C`).
 *
 *   node dist/scripts/e2e/exim.js    # fetch and unpack if needed, then check it runs (.ci/run)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdirSync, mkdtempSync, renameSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, ids, waitForPort } from './host.js';
import { instanceDir, readIfExists } from './sasl-dovecot.js';

/** The heavy flavour: exim4-daemon-light is built without the `dovecot` authenticator. */
export const EXIM_PACKAGE = 'exim4-daemon-heavy';
export const EXIM_CACHE = process.env.DEVICEPASS_E2E_EXIM ?? '/opt/devicepass-e2e/exim';
export const EXIM_BINARY = path.join(EXIM_CACHE, 'usr', 'sbin', 'exim4');
/**
 * Debian builds the user into the binary, which looks it up before reading
 * any configuration (even `-bV` fails without it). The package's postinst
 * would create it; the user is also the group devicepass's socket is given
 * to in docs/recipes/exim.md.
 */
export const EXIM_USER = 'Debian-exim';

const canInstall = () => process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && existsSync('/usr/bin/dpkg');

function userExists(name: string): boolean {
  try {
    execFileSync('getent', ['passwd', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Fetches and unpacks Exim into the cache when it is not there yet, and
 * creates its user. Needs root and apt-get's package lists; the shared
 * libraries the binary links are .ci/run's to install (from the package's
 * Depends), since they are not an MTA and may be installed normally.
 */
export function fetchExim(): void {
  if (!existsSync(EXIM_BINARY)) {
    const download = mkdtempSync('/tmp/exim-deb-');
    // unpacked beside the cache and renamed into place: an interrupted unpack never looks like a cached one
    const staging = `${EXIM_CACHE}.partial`;
    try {
      execFileSync('apt-get', ['download', '-qq', EXIM_PACKAGE], { cwd: download, stdio: ['ignore', 'ignore', 'pipe'] });
      const deb = readdirSync(download).find((f) => f.endsWith('.deb'));
      if (!deb) throw new Error(`apt-get download ${EXIM_PACKAGE} left no .deb`);
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(path.dirname(EXIM_CACHE), { recursive: true });
      execFileSync('dpkg', ['-x', path.join(download, deb), staging]);
      writeFileSync(path.join(staging, 'PACKAGE'), `${deb}\n`);
      rmSync(EXIM_CACHE, { recursive: true, force: true });
      renameSync(staging, EXIM_CACHE);
    } finally {
      rmSync(download, { recursive: true, force: true });
    }
  }
  if (!userExists(EXIM_USER)) {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', EXIM_USER]);
  }
}

/** Why the cached Exim cannot serve the suite, or null when it can. */
export function eximProblem(): string | null {
  if (!existsSync(EXIM_BINARY)) return `no Exim at ${EXIM_BINARY} (node dist/scripts/e2e/exim.js fetches it)`;
  if (!userExists(EXIM_USER)) return `no ${EXIM_USER} user`;
  let version: string;
  try {
    // a missing shared library shows here, with its name; the empty config stands in for Debian's, which is not there
    version = execFileSync(EXIM_BINARY, ['-C', '/dev/null', '-bV'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    return `${EXIM_BINARY} -bV failed: ${stderr.trim() || (err as Error).message}`;
  }
  if (!/^Authenticators:.*\bdovecot\b/m.test(version)) return `${EXIM_BINARY} has no dovecot authenticator`;
  return null;
}

/**
 * Whether the suite can run: fetches Exim first when this host can (root
 * with apt-get), so a fresh machine needs no separate step. Synchronous,
 * because the answer decides `describe.skipIf` while the file is collected.
 */
export function eximReady(): { ok: boolean; problem: string | null } {
  if (eximProblem() !== null && canInstall()) {
    try {
      fetchExim();
    } catch (err) {
      return { ok: false, problem: `fetching ${EXIM_PACKAGE} failed: ${(err as Error).message}` };
    }
  }
  const problem = eximProblem() ?? (existsSync('/usr/bin/swaks') ? null : 'swaks is not installed');
  return { ok: problem === null, problem };
}

export interface EximInstance {
  dir: string;
  port: number;
  mainlog(): string;
  /** Exim writes here what it could not do (a failed re-exec, a lost privilege): empty in a healthy run. */
  paniclog(): string;
  stop(): Promise<void>;
}

/**
 * An Exim daemon in the foreground (`-bdf`) on a free loopback port, with
 * its config, spool and logs under a short temp folder. SMTP AUTH PLAIN and
 * LOGIN go through the `dovecot` authenticator to `authSocket` — the
 * recipe's two authenticators, advertised without TLS to loopback only.
 * RCPT is accepted for authenticated senders alone; what is accepted stays
 * queued, never delivered: the test is about AUTH.
 */
export async function startExim(authSocket: string): Promise<EximInstance> {
  const dir = instanceDir('ex');
  const spool = path.join(dir, 'spool');
  const logs = path.join(dir, 'log');
  const exim = await ids(EXIM_USER);
  // the daemon and its SMTP processes run as the Exim user and write these
  for (const d of [spool, logs]) {
    mkdirSync(d, { mode: 0o750 });
    chownSync(d, exim.uid, exim.gid);
  }
  const port = await freePort();
  const config = path.join(dir, 'exim.conf');
  // root-owned and not group/world-writable, or Exim refuses it ("wrong owner, group, or mode") before it knows where to log
  writeFileSync(
    config,
    `# devicepass e2e (generated)
# re-executions (message delivery, pid file removal) must find this binary, not /usr/sbin/exim4
exim_path = ${EXIM_BINARY}
primary_hostname = mx.exim.test
spool_directory = ${spool}
log_file_path = ${logs}/%slog
local_interfaces = 127.0.0.1
keep_environment =
tls_advertise_hosts =
# delivery would re-exec Exim as ${EXIM_USER} with -C, which drops its privilege and says so in the paniclog
queue_only = true
acl_smtp_rcpt = acl_check_rcpt

begin acl

acl_check_rcpt:
  accept authenticated = *
  deny message = authentication required

begin routers

discard:
  driver = redirect
  data = :blackhole:

begin authenticators

# docs/recipes/exim.md, except that AUTH is also offered without TLS to loopback
dovecot_plain:
  driver = dovecot
  public_name = PLAIN
  server_socket = ${authSocket}
  server_set_id = $auth1
  server_advertise_condition = \${if or{{def:tls_in_cipher}{eq{$sender_host_address}{127.0.0.1}}}}

dovecot_login:
  driver = dovecot
  public_name = LOGIN
  server_socket = ${authSocket}
  server_set_id = $auth1
  server_advertise_condition = \${if or{{def:tls_in_cipher}{eq{$sender_host_address}{127.0.0.1}}}}
`,
    { mode: 0o644 },
  );

  let output = '';
  // -oX without -oP: no pid file to write, or to remove by re-executing at exit
  const child: ChildProcess = spawn(EXIM_BINARY, ['-C', config, '-bdf', '-oX', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const mainlog = () => readIfExists(path.join(logs, 'mainlog'));
  const paniclog = () => readIfExists(path.join(logs, 'paniclog'));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`exim exited ${String(code)}`);
    });
    // it exits for good at stop(): only the race may hear about it
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port, 10_000, 'Exim'), exited]);
  } catch (err) {
    const detail = `${(err as Error).message}\n${output}${mainlog().slice(-2000)}${paniclog()}`;
    await stop();
    throw new Error(`Exim did not start: ${detail}`);
  }
  return { dir, port, mainlog, paniclog, stop };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  fetchExim();
  const problem = eximProblem();
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
  console.log(`Exim ready at ${EXIM_BINARY} (${readIfExists(path.join(EXIM_CACHE, 'PACKAGE')).trim()})`);
}
