/**
 * An in-process daemon with the web surface on a free loopback port (its
 * public_url names that port), one address, and an HTTPS client for it.
 */
import https from 'node:https';
import net from 'node:net';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log/logger.js';
import { deepMerge, tempDir, testConfig } from './env.js';

export const ALICE = 'alice@example.com';

export interface WebResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export interface WebEnv {
  daemon: Daemon;
  dir: string;
  base: string;
  port: number;
  /** Every line the daemon logged, at debug level. */
  logs: string[];
  request(method: string, path: string, options?: { headers?: Record<string, string>; body?: string }): Promise<WebResponse>;
  /** A new invitation's token. */
  invite(options?: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

export async function startWebEnv(overrides: Record<string, unknown> = {}): Promise<WebEnv> {
  const { dir, cleanup } = tempDir('dpw');
  const port = await freePort();
  const base = `https://127.0.0.1:${port}`;
  const logs: string[] = [];
  const daemon = await startDaemon(
    testConfig(dir, deepMerge({ web: { listen: [`127.0.0.1:${port}`], public_url: base }, dovecot_auth: { listen: [] } }, overrides)),
    createLogger('debug', { write: (line: string) => void logs.push(line) }),
  );
  await daemon.admin.addAddress(ALICE, 'test');
  const request: WebEnv['request'] = (method, path, options = {}) =>
    new Promise((resolve, reject) => {
      const req = https.request(`${base}${path}`, { method, headers: options.headers, rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
      });
      req.on('error', reject);
      req.end(options.body);
    });
  return {
    daemon, dir, base, port, logs, request,
    invite: async (options = {}) => {
      const url = (await daemon.invitations.create(ALICE, options, 'test')).url;
      return url.slice(url.lastIndexOf('/') + 1);
    },
    stop: async () => {
      await daemon.stop();
      cleanup();
    },
  };
}

/** A loopback port free a moment ago: bound once, then released. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The hidden CSRF field of a page and the cookie that goes with it. */
export function formSecrets(page: WebResponse): { csrf: string; cookie: string } {
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
  const setCookie = page.headers['set-cookie'];
  const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0];
  if (!csrf || !cookie) throw new Error('the page carries no CSRF field or cookie');
  return { csrf, cookie };
}
