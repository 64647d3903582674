import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './host.js';

const run = promisify(execFile);

/** Debian's server binaries (package `postgresql`); PG_BIN names another folder. */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const available = existsSync(path.join(PG_BIN, 'initdb')) && existsSync(path.join(PG_BIN, 'pg_ctl'));

/**
 * Whether PostgreSQL tests skip: only on a developer machine without the
 * binaries. Under CI a missing PostgreSQL is a failure, never a silent skip.
 */
export const skipPostgres = !available && !process.env.CI;

export interface TestPostgres {
  /** The server's own database, as a URL with the password in it. */
  url: string;
  port: number;
  password: string;
  /** A fresh empty database on the server; its URL. */
  createDatabase(): Promise<string>;
  /** pg_ctl restart -m fast: every connection is cut, committed data survives. */
  restart(): Promise<void>;
  /** The server down (pg_ctl stop -m fast) until start(). */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/** initdb and the server refuse to run as root: run them as the `postgres` system user then. */
function command(file: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

async function pgTool(tool: string, args: string[]): Promise<void> {
  const [file, argv] = command(path.join(PG_BIN, tool), args);
  await run(file, argv, { timeout: 60_000 });
}


let databases = 0;

/**
 * A private PostgreSQL for one test file (or one benchmark run): its own
 * cluster under a temp folder, listening on a free loopback port, its socket
 * in the same folder, password (SCRAM) authentication over TCP so that tests
 * can check that no password leaks into an error. fsync is off: the tests
 * restart the server cleanly, never pull the plug.
 */
export async function startPostgres(): Promise<TestPostgres> {
  if (!available) throw new Error(`PostgreSQL server binaries not found in ${PG_BIN} (install the Debian package "postgresql")`);
  const dir = mkdtempSync(path.join('/tmp', 'dp-pg-'));
  chmodSync(dir, 0o700);
  const data = path.join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  await pgTool('initdb', ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync', '-E', 'UTF8', '--no-locale']);
  let port = 0;
  const options = () => `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const logFile = path.join(dir, 'server.log');
  const start = async () => {
    await pgTool('pg_ctl', ['-D', data, '-o', options(), '-l', logFile, '-w', '-t', '30', 'start']);
  };
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3) throw err; // a port taken between the probe and the start: try another
    }
  }
  const stopNow = () => {
    const [file, argv] = command(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
    spawnSync(file, argv, { stdio: 'ignore' });
  };
  // a test run that dies must not leave a server behind
  process.once('exit', stopNow);
  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  let stopped = false;
  return {
    url: `${base}/postgres`,
    port,
    password,
    async createDatabase() {
      const name = `t_${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: `${base}/postgres` });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name} STRATEGY FILE_COPY`);
      } finally {
        await client.end();
      }
      return `${base}/${name}`;
    },
    async restart() {
      await pgTool('pg_ctl', ['-D', data, '-o', options(), '-l', logFile, '-m', 'fast', '-w', '-t', '30', 'restart']);
    },
    async stopServer() {
      await pgTool('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    startServer: start,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopNow);
      stopNow();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const out = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error('running as root needs the "postgres" system user (installed with the postgresql package)');
  return { uid: Number(out.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
