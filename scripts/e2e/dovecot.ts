import { spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { freePort, ids, run } from './host.js';
const DOVECOT = '/usr/sbin/dovecot';
const DOVEADM = '/usr/bin/doveadm';

export interface DovecotOptions {
  /** Also serve STARTTLS on the plain port and implicit TLS on `tlsPort`, with a fresh self-signed certificate for 127.0.0.1 and localhost. */
  tls?: boolean;
  /** Concurrent IMAP sessions to allow (one imap process each); default 200. */
  maxSessions?: number;
  /** Reuse login processes (Dovecot's "high-performance mode") instead of one process per login. */
  fastLogins?: boolean;
  /** Log the ID fields of every login (the tests read them; a benchmark leaves it off, as production does). Default true. */
  logIds?: boolean;
  /** Also serve POP3 (dovecot-pop3d) on `pop3Port`, plaintext, with XCLIENT for loopback. */
  pop3?: boolean;
  /** Believe what devicepass on loopback says of the real client (IMAP ID, POP3 XCLIENT): login_trusted_networks. Default true. */
  trustLoopback?: boolean;
}

export interface DovecotInstance {
  dir: string;
  configFile: string;
  host: string;
  port: number;
  /** Implicit TLS port, when started with `tls`. */
  tlsPort: number | null;
  /** POP3 port, when started with `pop3`. */
  pop3Port: number | null;
  /** The self-signed certificate (PEM) to trust, when started with `tls`. */
  ca: string | null;
  masterUser: string;
  masterPassword: string;
  /** The Maildir of an address (created by Dovecot at its first login). */
  maildir(address: string): string;
  /** Dovecot's log so far. */
  log(): string;
  /** Waits until the log matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  doveadm(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export function dovecotInstalled(): boolean {
  return existsSync(DOVECOT) && existsSync('/usr/lib/dovecot/imap-login');
}

export function dovecotPop3Installed(): boolean {
  return dovecotInstalled() && existsSync('/usr/lib/dovecot/pop3-login');
}

/**
 * A standalone Dovecot from Debian under a short temp folder, as devicepass's
 * IMAP upstream in end-to-end tests and benchmarks: only IMAP on a free
 * loopback port, a master user that can log in as any address (AUTHENTICATE
 * PLAIN with authzid, or LOGIN "address*master"), every address accepted with
 * a Maildir under the folder, loopback trusted for ID x-originating-ip, and
 * no auth cache. Runs as root; Dovecot drops to its own users and delivers
 * mail as the `mail` user.
 */
export async function startDovecot(options: DovecotOptions = {}): Promise<DovecotInstance> {
  if (!dovecotInstalled()) throw new Error('Dovecot is not installed (apt-get install dovecot-core dovecot-imapd)');
  // every parent must be searchable by Dovecot's unprivileged users; short, for Unix socket paths
  const dir = mkdtempSync('/tmp/dc-');
  chmodSync(dir, 0o755);
  const mail = path.join(dir, 'mail');
  for (const d of [path.join(dir, 'run'), path.join(dir, 'state'), mail]) mkdirSync(d, { mode: 0o755 });
  const mailUser = await ids('mail');
  const internal = await ids('dovecot');
  chownSync(mail, mailUser.uid, mailUser.gid);

  const masterUser = 'master';
  const masterPassword = `m-${Math.random().toString(36).slice(2, 14)}`;
  const masterFile = path.join(dir, 'master.passwd');
  writeFileSync(masterFile, `${masterUser}:{PLAIN}${masterPassword}\n`, { mode: 0o640 });
  // the auth process reads it as the dovecot user
  chownSync(masterFile, 0, internal.gid);
  // no ordinary users: only the master user logs in (Dovecot still wants a non-master passdb)
  const usersFile = path.join(dir, 'users.passwd');
  writeFileSync(usersFile, '', { mode: 0o644 });

  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : null;
  const pop3Port = options.pop3 ? await freePort() : null;
  const ca = options.tls ? await selfSigned(dir) : null;
  const configFile = path.join(dir, 'dovecot.conf');
  const logFile = path.join(dir, 'dovecot.log');
  writeFileSync(configFile, dovecotConf({ dir, port, tlsPort, pop3Port, logFile, masterFile, usersFile, mail, mailUser, options }));

  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  try {
    await launch(configFile, path.join(dir, 'startup.err'));
    await waitForGreeting(port, 10_000);
  } catch (err) {
    await stopMaster(dir);
    const startup = readIfExists(path.join(dir, 'startup.err'));
    throw new Error(`Dovecot did not start: ${(err as Error).message}\n${startup}log:\n${log().slice(-4000)}`);
  }

  return {
    dir,
    configFile,
    host: '127.0.0.1',
    port,
    tlsPort,
    pop3Port,
    ca,
    masterUser,
    masterPassword,
    maildir: (address) => {
      const [local, domain] = splitAddress(address);
      return path.join(mail, domain, local, 'Maildir');
    },
    log,
    waitForLog: async (pattern, timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = log();
        if (pattern.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`Dovecot's log never matched ${pattern}; log:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    doveadm: async (args) => (await run(DOVEADM, ['-c', configFile, ...args])).stdout,
    stop: async () => {
      await stopMaster(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface ConfInput {
  dir: string;
  port: number;
  tlsPort: number | null;
  pop3Port: number | null;
  logFile: string;
  masterFile: string;
  usersFile: string;
  mail: string;
  mailUser: { uid: number; gid: number };
  options: DovecotOptions;
}

/** Concurrent sessions to allow, per protocol. */
const sessionLimit = (c: ConfInput): number => c.options.maxSessions ?? 200;

function dovecotConf(c: ConfInput): string {
  const sessions = sessionLimit(c);
  const tls = c.tlsPort !== null;
  return `# devicepass end-to-end upstream (generated)
base_dir = ${c.dir}/run
state_dir = ${c.dir}/state
instance_name = dovecot-${path.basename(c.dir)}
log_path = ${c.logFile}
protocols = imap${c.pop3Port === null ? '' : ' pop3'}
listen = 127.0.0.1
${tls ? `ssl = yes\nssl_cert = <${c.dir}/cert.pem\nssl_key = <${c.dir}/key.pem\nssl_min_protocol = TLSv1.2` : 'ssl = no'}
disable_plaintext_auth = no
auth_mechanisms = plain login
# "address*master" logs the master user in as the address (LOGIN); PLAIN with authzid works regardless
auth_master_user_separator = *
# devicepass decides every login; a cached answer would outlive a revocation
auth_cache_size = 0
${c.options.trustLoopback === false ? '# devicepass on loopback is not believed: no XCLIENT, ID x-originating-ip ignored' : '# devicepass is on loopback: take the real client address from its ID x-originating-ip and XCLIENT\nlogin_trusted_networks = 127.0.0.0/8'}
${c.options.logIds === false ? '' : '# log the ID fields devicepass passes on (the tests read them)\nimap_id_log = *'}
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = ${c.mailUser.uid}
first_valid_gid = ${c.mailUser.gid}
mail_location = maildir:~/Maildir
default_process_limit = ${sessions + 50}
default_client_limit = ${sessions * 4 + 1000}
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${c.masterFile}
  master = yes
}
passdb {
  driver = passwd-file
  args = ${c.usersFile}
}
userdb {
  driver = static
  args = uid=${c.mailUser.uid} gid=${c.mailUser.gid} home=${c.mail}/%d/%n allow_all_users=yes
}
${loginService(c, 'imap', c.port, c.tlsPort ?? 0)}
service imap {
  process_limit = ${sessions}
}
${c.pop3Port === null ? '' : `${loginService(c, 'pop3', c.pop3Port, 0)}
`}`;
}

/** A protocol's per-user session limit and its login service: plaintext on `port`, implicit TLS on `tlsPort` (0: none). */
function loginService(c: ConfInput, protocol: 'imap' | 'pop3', port: number, tlsPort: number): string {
  return `protocol ${protocol} {
  mail_max_userip_connections = ${sessionLimit(c) + 10}
}
service ${protocol}-login {
  inet_listener ${protocol} {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener ${protocol}s {
    address = 127.0.0.1
    port = ${tlsPort}
    ssl = yes
  }
${c.options.fastLogins ? '  service_count = 0\n  process_min_avail = 2\n' : ''}}`;
}

/**
 * Runs `dovecot -c FILE`, which forks its master and returns. Its output goes
 * to a file: the master keeps inherited pipes open, so waiting on them would
 * never end.
 */
async function launch(configFile: string, errFile: string): Promise<void> {
  const fd = openSync(errFile, 'w');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(DOVECOT, ['-c', configFile], { stdio: ['ignore', fd, fd] });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`dovecot exited with ${code}`);
  } finally {
    closeSync(fd);
  }
}

function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

async function selfSigned(dir: string): Promise<string> {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert,
  ]);
  chmodSync(key, 0o600);
  return readFileSync(cert, 'utf8');
}

async function stopMaster(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'run', 'master.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 5_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  return at < 0 ? [address, ''] : [address.slice(0, at), address.slice(at + 1)];
}

/** Listening is not enough: the greeting shows the login processes and auth are up. */
async function waitForGreeting(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const greeted = await new Promise<boolean>((resolve) => {
      const probe = net.connect(port, '127.0.0.1');
      const done = (ok: boolean) => {
        probe.destroy();
        resolve(ok);
      };
      probe.setTimeout(1_000, () => done(false));
      probe.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('* OK')));
      probe.once('error', () => done(false));
    });
    if (greeted) return;
    if (Date.now() > deadline) throw new Error(`no IMAP greeting on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
