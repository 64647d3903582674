import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, instanceDir, readIfExists, waitForPort } from './sasl-dovecot.js';

export const NGINX_MAIL_MODULE = '/usr/lib/nginx/modules/ngx_mail_module.so';

export function nginxAvailable(): boolean {
  return existsSync('/usr/sbin/nginx') && existsSync(NGINX_MAIL_MODULE);
}

export interface NginxMail {
  dir: string;
  imapPort: number;
  log(): string;
  stop(): Promise<void>;
}

/**
 * nginx's mail proxy (libnginx-mod-mail) in the foreground under a temp
 * prefix: IMAP on a free loopback port, every login decided by auth_http at
 * `authUrl` with the shared secret header devicepass requires.
 */
export async function startNginxMail(options: { authUrl: string; secret: string }): Promise<NginxMail> {
  const dir = instanceDir('ngx');
  const imapPort = await freePort();
  const errorLog = path.join(dir, 'error.log');
  const configFile = path.join(dir, 'nginx.conf');
  writeFileSync(
    configFile,
    `load_module ${NGINX_MAIL_MODULE};
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${errorLog} info;
events {
  worker_connections 64;
}
mail {
  server_name mail.e2e.test;
  auth_http ${options.authUrl};
  auth_http_header X-Devicepass-Secret ${options.secret};
  proxy_pass_error_message on;
  server {
    listen 127.0.0.1:${imapPort};
    protocol imap;
    imap_auth plain login;
  }
}
`,
  );
  const child: ChildProcess = spawn('/usr/sbin/nginx', ['-p', dir, '-c', configFile, '-e', errorLog], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => readIfExists(errorLog) + stderr;
  try {
    await Promise.race([waitForPort(imapPort, 10_000, 'nginx'), exited.then(() => Promise.reject(new Error('nginx exited')))]);
  } catch (err) {
    child.kill('SIGTERM');
    throw new Error(`nginx did not start: ${(err as Error).message}\n${log().slice(-3000)}`);
  }
  return {
    dir,
    imapPort,
    log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
