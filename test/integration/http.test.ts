import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { addAddressWithDevice, startTestDaemon } from '../helpers/daemon-env.js';
import { tempDir, testConfig } from '../helpers/env.js';

const ALICE = 'alice@example.com';
const SECRET = 'nginx-shared-secret';

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${base}${path}`, { headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe('HTTP surface', () => {
  let daemon: Daemon;
  let stop: () => Promise<void>;
  let base: string;
  let password: string;

  beforeAll(async () => {
    ({ daemon, stop } = await startTestDaemon({
      imap: { upstream: { host: '127.0.0.1', port: 10143, master_user: 'master', master_password: 'master-pw' } },
      smtp: { upstream: { host: '127.0.0.1', port: 10025 } },
      dovecot_auth: { listen: [] },
      http: { listen: ['127.0.0.1:0'], nginx_secret: SECRET },
    }));
    base = daemon.surfaces.find((s) => s.name === 'http')!.addresses()[0]!;
    password = await addAddressWithDevice(daemon, ALICE, { name: 'phone' });
  });
  afterAll(() => stop());

  const nginx = (user: string, pass: string, extra: Record<string, string> = {}) =>
    get(base, '/auth/nginx', {
      'X-Devicepass-Secret': SECRET,
      'Auth-Method': 'plain',
      'Auth-User': encodeURIComponent(user),
      'Auth-Pass': encodeURIComponent(pass),
      'Auth-Protocol': 'imap',
      'Auth-Login-Attempt': '1',
      'Client-IP': '127.0.0.1',
      'Client-Host': 'localhost',
      ...extra,
    });

  it('answers /healthz', async () => {
    const res = await get(base, '/healthz');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok', store: 'ok', listeners: { http: { status: 'ok', addresses: [base] } }, upstreams: {} });
  });

  it('logs an IMAP client in through auth_http with the master user', async () => {
    const res = await nginx(ALICE, password);
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({ 'auth-status': 'OK', 'auth-server': '127.0.0.1', 'auth-port': '10143', 'auth-user': `${ALICE}*master`, 'auth-pass': 'master-pw' });
  });

  it('refuses a wrong password with a growing wait, and SMTP with its error code', async () => {
    const first = await nginx(ALICE, 'wrong wrong wrong', { 'Auth-Login-Attempt': '1' });
    expect(first.headers).toMatchObject({ 'auth-status': 'Invalid login or password', 'auth-wait': '1' });
    const last = await nginx(ALICE, 'wrong wrong wrong', { 'Auth-Login-Attempt': '4', 'Auth-Protocol': 'smtp' });
    expect(last.headers['auth-wait']).toBeUndefined();
    expect(last.headers['auth-error-code']).toBe('535 5.7.8');
  });

  it('refuses requests without the secret', async () => {
    expect((await nginx(ALICE, password, { 'X-Devicepass-Secret': 'nope' })).status).toBe(403);
  });

  it('refuses a revoked device on the next attempt', async () => {
    const device = await daemon.admin.addDevice(ALICE, { name: 'laptop', scopes: 'smtp' }, 'test');
    expect((await nginx(ALICE, device.password, { 'Auth-Protocol': 'smtp' })).headers['auth-status']).toBe('OK');
    await daemon.admin.revokeDevice(ALICE, device.id, 'test');
    expect((await nginx(ALICE, device.password, { 'Auth-Protocol': 'smtp' })).headers['auth-status']).toBe('Invalid login or password');
  });

  it('exports metrics in the Prometheus text format, without passwords', async () => {
    const res = await get(base, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/devicepass_logins_total\{surface="auth_http",protocol="imap",result="ok",reason="ok"\} \d+/);
    expect(res.body).toMatch(/devicepass_logins_total\{surface="auth_http",protocol="smtp",result="failed",reason="revoked"\} 1/);
    expect(res.body).toContain('# TYPE devicepass_live_sessions gauge');
    expect(res.body).not.toContain(password);
  });

  it('counts every login the Authenticator decides, whatever the surface, with the proof cache and hash queue', async () => {
    const attempt = { address: ALICE, protocol: 'pop3' as const, clientIp: '127.0.0.1', trusted: true };
    await daemon.authenticator.authenticate({ ...attempt, password: 'not the password at all' });
    await daemon.authenticator.authenticate({ ...attempt, password: 'not the password at all' });
    const body = (await get(base, '/metrics')).body;
    expect(body).toMatch(/devicepass_auth_results_total\{protocol="pop3",result="failed",reason="wrong-password"\} 2/);
    expect(body).toMatch(/devicepass_auth_results_total\{protocol="imap",result="ok",reason="ok"\} \d+/);
    const hits = Number(/devicepass_proof_cache_lookups_total\{outcome="hit"\} (\d+)/.exec(body)?.[1]);
    expect(hits).toBeGreaterThanOrEqual(1); // the repeated wrong password was answered from the cache
    expect(body).toMatch(/devicepass_proof_cache_entries\{kind="miss"\} [1-9]/);
    expect(body).toMatch(/devicepass_hash_queue\{state="queued"\} 0/);
    expect(body).toContain('devicepass_hash_queue_refused_total 0');
  });

  it('answers 404 elsewhere and survives a malformed request', async () => {
    expect((await get(base, '/nope')).status).toBe(404);
    const net = await import('node:net');
    const [host, port] = base.split(':') as [string, string];
    await new Promise<void>((resolve) => {
      const s = net.connect(Number(port), host, () => s.write('GARBAGE\r\n\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => resolve());
      s.resume();
    });
    expect((await get(base, '/healthz')).status).toBe(200);
  });
});

/** SIGHUP may change [imap.upstream] and [pop3.upstream] (src/reload.ts): auth_http must send nginx to the new ones. */
describe('HTTP surface: auth_http after a reload', () => {
  let daemon: Daemon;
  let dir: string;
  let cleanup: () => void;
  let base: string;
  let password: string;

  const sections = (imap: Record<string, unknown>, pop3: Record<string, unknown>, smtp: Record<string, unknown>) => ({
    imap: { listen: [], listen_tls: [], upstream: imap },
    pop3: { listen: [], listen_tls: [], upstream: pop3 },
    smtp: { listen: [], listen_tls: [], upstream: smtp },
    dovecot_auth: { listen: [] },
    http: { listen: ['127.0.0.1:0'], nginx_secret: SECRET },
  });

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir());
    daemon = await startDaemon(
      testConfig(dir, sections(
        { host: '127.0.0.1', port: 10143, master_user: 'master', master_password: 'master-pw' },
        { host: '127.0.0.1', port: 10110, master_user: 'pop-master', master_password: 'pop-master-pw' },
        { host: '127.0.0.1', port: 10025 },
      )),
    );
    base = daemon.surfaces.find((s) => s.name === 'http')!.addresses()[0]!;
    await daemon.admin.addAddress(ALICE, 'test');
    password = (await daemon.admin.addDevice(ALICE, { name: 'phone', scopes: ['imap', 'pop3', 'smtp'] }, 'test')).password;
  });
  afterAll(async () => {
    await daemon.stop();
    cleanup();
  });

  const login = (protocol: string) =>
    get(base, '/auth/nginx', {
      'X-Devicepass-Secret': SECRET, 'Auth-Method': 'plain', 'Auth-User': encodeURIComponent(ALICE), 'Auth-Pass': encodeURIComponent(password),
      'Auth-Protocol': protocol, 'Auth-Login-Attempt': '1', 'Client-IP': '127.0.0.1',
    });

  it('answers with the reloaded upstream host, port and master login for POP3 and IMAP (and the SMTP upstream)', async () => {
    expect((await login('pop3')).headers).toMatchObject({ 'auth-server': '127.0.0.1', 'auth-port': '10110', 'auth-user': `${ALICE}*pop-master`, 'auth-pass': 'pop-master-pw' });
    expect((await login('imap')).headers).toMatchObject({ 'auth-server': '127.0.0.1', 'auth-port': '10143', 'auth-user': `${ALICE}*master`, 'auth-pass': 'master-pw' });

    const plan = await daemon.reload(testConfig(dir, sections(
      { host: '127.0.0.2', port: 20143, master_user: 'master2', master_password: 'master-pw-2' },
      { host: '127.0.0.3', port: 20110, master_user: 'pop-master2', master_password: 'pop-master-pw-2' },
      { host: '127.0.0.4', port: 20025 },
    )));
    expect(plan.needRestart).toEqual([]);
    expect(plan.applied).toEqual(expect.arrayContaining(['imap.upstream.port', 'pop3.upstream.port', 'pop3.upstream.master_password', 'smtp.upstream.port']));

    const pop3 = await login('pop3');
    expect(pop3.headers).toMatchObject({ 'auth-status': 'OK', 'auth-server': '127.0.0.3', 'auth-port': '20110', 'auth-user': `${ALICE}*pop-master2`, 'auth-pass': 'pop-master-pw-2' });
    const imap = await login('imap');
    expect(imap.headers).toMatchObject({ 'auth-status': 'OK', 'auth-server': '127.0.0.2', 'auth-port': '20143', 'auth-user': `${ALICE}*master2`, 'auth-pass': 'master-pw-2' });
    expect((await login('smtp')).headers).toMatchObject({ 'auth-status': 'OK', 'auth-server': '127.0.0.4', 'auth-port': '20025' });
  });
});

/** Found by the auth_http fuzzer (test/integration/fuzz-fronts.test.ts): a request node:http cannot parse was closed in silence. */
describe('HTTP surface: requests it cannot parse', () => {
  let stop: () => Promise<void>;
  let port: number;

  beforeAll(async () => {
    const env = await startTestDaemon({ dovecot_auth: { listen: [] }, http: { listen: ['127.0.0.1:0'], nginx_secret: SECRET } });
    stop = env.stop;
    const bound = env.daemon.surfaces.find((s) => s.name === 'http')!.addresses()[0]!;
    port = Number(bound.slice(bound.lastIndexOf(':') + 1));
  });
  afterAll(() => stop());

  /** Everything the server sent before it closed. */
  async function raw(request: string): Promise<string> {
    const net = await import('node:net');
    return new Promise((resolve) => {
      let received = '';
      const s = net.connect(port, '127.0.0.1', () => s.end(request));
      s.on('data', (d: Buffer) => (received += d.toString('latin1')));
      s.on('close', () => resolve(received));
      s.on('error', () => undefined);
    });
  }

  it.each([
    ['bare LF line ends', 'GET /auth/nginx HTTP/1.0\n\n\n', 400],
    ['a garbage request line', 'GARBAGE\r\n\r\n', 400],
    ['a header without a colon', 'GET /auth/nginx HTTP/1.0\r\nAuth-User alice\r\n\r\n', 400],
    ['a NUL in a header value', 'GET /auth/nginx HTTP/1.0\r\nAuth-User: a\0b\r\n\r\n', 400],
    ['a request cut short', 'GET /auth/nginx HTTP/1.0\r\nAuth-Us', 400],
    ['headers over the limit', `GET /auth/nginx HTTP/1.0\r\nX-Big: ${'x'.repeat(9000)}\r\n\r\n`, 431],
  ])('%s: answered with an HTTP error, then closed', async (_label, request, status) => {
    expect(await raw(request)).toMatch(new RegExp(`^HTTP/1\\.1 ${status} [^\\r\\n]+\\r\\nConnection: close\\r\\n`));
  });
});
