import { spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, openSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { freePort, ids, run, waitForPort } from './host.js';

export { freePort, ids, run, waitForPort };

/** Short, world-searchable instance folders: the servers drop privileges, and socket paths are short. */
export function instanceDir(prefix: string): string {
  const dir = mkdtempSync(`/tmp/${prefix}-`);
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Starts a server that forks into the background. Its output goes to a file:
 * a pipe would stay open in the daemon and the launcher would never see EOF.
 */
export function daemonize(command: string, args: string[], outputFile: string): Promise<void> {
  const out = openSync(outputFile, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', out, out] });
    child.on('error', reject);
    child.on('exit', (code) => {
      closeSync(out);
      if (code === 0) resolve();
      else reject(new Error(`${command} exited ${code}: ${readIfExists(outputFile).slice(-2000)}`));
    });
  });
}

export function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

export function dovecotAvailable(): boolean {
  return existsSync('/usr/sbin/dovecot') && existsSync('/usr/lib/dovecot/checkpassword-reply');
}

export interface DovecotInstance {
  dir: string;
  port: number;
  /** Present with `auth: 'passwd-file'`: Dovecot's own auth-client socket (for the benchmark). */
  authSocket: string;
  log(): string;
  doveadm(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface DovecotOptions {
  /**
   * checkpassword: every login asks devicepass through bin/devicepass-checkpassword.js on `devicepassSocket`.
   * passwd-file: Dovecot's own users from `passwdFile` (the benchmark's reference).
   */
  auth:
    | { kind: 'checkpassword'; devicepassSocket: string; programRoot: string }
    | { kind: 'passwd-file'; lines: string }
    /** Only a master user, who may log in as any address ("address*master"): the upstream behind a proxy. */
    | { kind: 'master'; user: string; password: string };
}

/**
 * A standalone Dovecot (IMAP only, loopback, free port) whose passdb is
 * either devicepass's checkpassword program or a passwd-file, with the auth
 * cache off and a static userdb taking every address to a Maildir.
 */
export async function startDovecot(options: DovecotOptions): Promise<DovecotInstance> {
  const dir = instanceDir('dv');
  const mail = path.join(dir, 'mail');
  for (const d of [path.join(dir, 'run'), path.join(dir, 'state'), mail]) mkdirSync(d, { mode: 0o755 });
  const mailUser = await ids('mail');
  chownSync(mail, mailUser.uid, mailUser.gid);

  let passdb: string;
  if (options.auth.kind === 'checkpassword') {
    // Dovecot clears the environment and runs args through no shell: a wrapper names node and the socket
    const wrapper = path.join(dir, 'checkpassword.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexec ${process.execPath} ${path.join(options.auth.programRoot, 'bin', 'devicepass-checkpassword.js')} --socket ${options.auth.devicepassSocket} "$@"\n`,
      { mode: 0o755 },
    );
    passdb = `passdb {\n  driver = checkpassword\n  args = ${wrapper}\n}`;
  } else if (options.auth.kind === 'master') {
    const masters = path.join(dir, 'master.passwd');
    writeFileSync(masters, `${options.auth.user}:{PLAIN}${options.auth.password}\n`, { mode: 0o644 });
    const users = path.join(dir, 'users.passwd');
    writeFileSync(users, '', { mode: 0o644 });
    passdb = `auth_master_user_separator = *\npassdb {\n  driver = passwd-file\n  master = yes\n  args = ${masters}\n}\npassdb {\n  driver = passwd-file\n  args = ${users}\n}`;
  } else {
    const users = path.join(dir, 'users.passwd');
    writeFileSync(users, options.auth.lines, { mode: 0o644 });
    passdb = `passdb {\n  driver = passwd-file\n  args = scheme=ARGON2ID ${users}\n}`;
  }

  const port = await freePort();
  const logFile = path.join(dir, 'dovecot.log');
  const configFile = path.join(dir, 'dovecot.conf');
  const authSocket = path.join(dir, 'run', 'auth-client');
  writeFileSync(
    configFile,
    `# devicepass e2e (generated)
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = dv-${path.basename(dir)}
log_path = ${logFile}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# devicepass decides every login: a cached answer would outlive a revocation
auth_cache_size = 0
first_valid_uid = 1
mail_location = maildir:${mail}/%d/%n/Maildir
${passdb}
userdb {
  driver = static
  args = uid=${mailUser.uid} gid=${mailUser.gid} home=${mail}/%d/%n allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service auth {
  # the checkpassword program is a node process: V8 reserves more address space than the 256M default allows
  vsz_limit = 0
  unix_listener auth-client {
    mode = 0666
  }
}
`,
  );
  const log = () => readIfExists(logFile);
  try {
    await daemonize('/usr/sbin/dovecot', ['-c', configFile], path.join(dir, 'startup.log'));
    await waitForPort(port, 10_000, 'Dovecot');
  } catch (err) {
    await stopDovecot(dir);
    throw new Error(`Dovecot did not start: ${(err as Error).message}\n${log().slice(-3000)}`);
  }
  return {
    dir,
    port,
    authSocket,
    log,
    doveadm: async (args) => (await run('/usr/bin/doveadm', ['-c', configFile, ...args])).stdout,
    stop: async () => {
      await stopDovecot(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function stopDovecot(dir: string): Promise<void> {
  const pid = Number(readIfExists(path.join(dir, 'run', 'master.pid')).trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
