import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { HealthReport } from '../../src/monitoring/health.js';
import { tempDir, testConfig } from '../helpers/env.js';
import { deadPort } from '../unit/smtp/helpers.js';

describe('/healthz names each part that serves a login', () => {
  let daemon: Daemon;
  let upstream: net.Server;
  let base: string;
  const tmp = tempDir('dp-health');

  beforeAll(async () => {
    // an IMAP upstream that accepts connections, an SMTP upstream that is down
    upstream = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
    const imapPort = (upstream.address() as net.AddressInfo).port;
    daemon = await startDaemon(testConfig(tmp.dir, {
      imap: { listen: ['127.0.0.1:0'], listen_tls: [], upstream: { host: '127.0.0.1', port: imapPort } },
      smtp: { listen: ['127.0.0.1:0'], listen_tls: [], upstream: { host: '127.0.0.1', port: await deadPort() } },
      http: { listen: ['127.0.0.1:0'] },
      dovecot_auth: { listen: [] },
    }));
    base = `http://${daemon.surfaces.find((s) => s.name === 'http')!.addresses()[0]}`;
  });
  afterAll(async () => {
    await daemon?.stop();
    await new Promise((resolve) => upstream.close(resolve));
    tmp.cleanup();
  });

  it('answers 503 with the part that fails: here the SMTP upstream', async () => {
    // the first answer starts the upstream probes; they answer within a moment
    const first = (await (await fetch(`${base}/healthz`)).json()) as HealthReport;
    expect(first.upstreams.smtp?.status).toMatch(/^(unknown|failing)$/);
    let res = await fetch(`${base}/healthz`);
    for (let i = 0; i < 50 && res.status !== 503; i++) {
      await new Promise((r) => setTimeout(r, 20));
      res = await fetch(`${base}/healthz`);
    }
    expect(res.status).toBe(503);
    const report = (await res.json()) as HealthReport;
    expect(report.status).toBe('failing');
    expect(report.store).toBe('ok');
    expect(Object.keys(report.listeners).sort()).toEqual(['http', 'imap', 'smtp']);
    expect(report.upstreams.imap).toMatchObject({ status: 'ok' });
    expect(report.upstreams.smtp).toMatchObject({ status: 'failing', error: 'ECONNREFUSED' });
  });

  it('counts the sessions it cuts and the reloads on /metrics', async () => {
    await daemon.admin.addAddress('alice@example.com', 'test');
    const device = await daemon.admin.addDevice('alice@example.com', { name: 'phone' }, 'test');
    let closed = '';
    daemon.registry.register(
      { address: 'alice@example.com', deviceId: Number(device.id), deviceName: 'phone', protocol: 'imap', clientIp: '192.0.2.1', clientName: null, since: Date.now() },
      (reason) => (closed = reason),
    );
    await daemon.admin.revokeDevice('alice@example.com', device.id, 'test');
    expect(closed).toBe('device-revoked');
    await daemon.reload(daemon.config);
    daemon.reloadRefused();
    const body = await (await fetch(`${base}/metrics`)).text();
    expect(body).toMatch(/^devicepass_sessions_cut_total\{protocol="imap",reason="device-revoked"\} 1$/m);
    expect(body).toMatch(/^devicepass_reloads_total\{outcome="applied"\} 1$/m);
    expect(body).toMatch(/^devicepass_reloads_total\{outcome="refused"\} 1$/m);
  });
});
