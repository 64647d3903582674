/**
 * Connection limits of the Dovecot SASL service and the HTTP surface over
 * real sockets, and what /metrics reports of every front's limits.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { SaslClient } from '../../src/dovecot-auth/client.js';
import { tempDir, testConfig } from '../helpers/env.js';

const ALICE = 'alice@example.com';
const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');

function raw(address: string): { socket: net.Socket; text: () => string; gone: Promise<void> } {
  const tcp = /^([\d.]+):(\d+)$/.exec(address);
  const socket = tcp ? net.connect(Number(tcp[2]), tcp[1]) : net.connect(address);
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => undefined);
  return { socket, text: () => text, gone: new Promise((resolve) => socket.once('close', () => resolve())) };
}

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('Dovecot SASL and HTTP: connection limits', () => {
  let daemon: Daemon;
  let cleanup: () => void;
  let unix: string;
  let tcp: string;
  let httpPort: number;
  let password: string;
  const stats = (front: string) => daemon.connections.stats().find((s) => s.front === front)!;

  beforeAll(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    daemon = await startDaemon(
      testConfig(tmp.dir, {
        // longer than the idle timeout: a failing verdict keeps its connection waiting past it
        auth: { failure_delay: '1500ms', failure_delay_max: '1500ms' },
        dovecot_auth: { listen: ['auth.sock', '127.0.0.1:0'], max_connections: 4, max_connections_per_network: 2, idle_timeout: '700ms', max_pending_per_connection: 2 },
        http: { listen: ['127.0.0.1:0'], max_connections: 2, max_connections_per_network: 2 },
      }),
    );
    [unix, tcp] = daemon.surfaces.find((s) => s.name === 'dovecot_auth')!.addresses() as [string, string];
    httpPort = Number(daemon.surfaces.find((s) => s.name === 'http')!.addresses()[0]!.split(':').pop());
    await daemon.admin.addAddress(ALICE, 'test');
    password = (await daemon.admin.addDevice(ALICE, { name: 'mailer', scopes: 'smtp' }, 'test')).password;
  });
  afterAll(async () => {
    await daemon?.stop();
    cleanup();
  });

  it('SASL: a third TCP connection from one network and a fifth in all are closed before the handshake', async () => {
    const held = [raw(tcp), raw(tcp)];
    await until(() => held.every((h) => h.text().includes('DONE')), 'two handshakes');
    const third = raw(tcp);
    await third.gone;
    expect(third.text()).toBe('');
    // Unix socket peers count in the total only
    held.push(raw(unix), raw(unix));
    await until(() => held.every((h) => h.text().includes('DONE')), 'four handshakes');
    const fifth = raw(unix);
    await fifth.gone;
    expect(fifth.text()).toBe('');
    for (const h of held) h.socket.destroy();
    await until(() => stats('dovecot_auth').open === 0, 'the closes to be counted');
    const client = await SaslClient.connect(tcp);
    expect((await client.plain({ user: ALICE, password, service: 'smtp', rip: '192.0.2.1' })).ok).toBe(true);
    client.close();
  });

  it('SASL: a silent connection is closed after idle_timeout, also one owing a CONT, but not one waiting for its verdict', async () => {
    const idle = raw(unix);
    idle.socket.write('VERSION\t1\t2\n');
    const owing = raw(unix);
    owing.socket.write('VERSION\t1\t2\nAUTH\t1\tLOGIN\tservice=smtp\n');
    const waiting = raw(unix);
    waiting.socket.write(`VERSION\t1\t2\nAUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.50\tresp=${plain(ALICE, 'a-wrong-password-xxxx')}\n`);
    // bytes of a line that never ends are not activity either
    const dribbling = raw(unix);
    dribbling.socket.write('VERSION\t1\t2\nAUTH');
    const dribble = setInterval(() => dribbling.socket.write('x'), 100);
    await idle.gone;
    await owing.gone;
    await dribbling.gone;
    clearInterval(dribble);
    expect(owing.text()).toContain('CONT\t1\t');
    // the failure delay (1.5 s) outlasts the idle timeout (0.7 s): the verdict still arrives
    await until(() => waiting.text().includes('FAIL\t1\t'), 'the delayed verdict');
    await waiting.gone;
    expect(stats('dovecot_auth').hits.get('idle_timeout')).toBeGreaterThanOrEqual(4);
  });

  it('SASL: requests beyond max_pending_per_connection get a temporary FAIL, the others their verdicts', async () => {
    const peer = raw(unix);
    // LOGIN without a response waits for CONT: three such requests, one over the cap of two
    peer.socket.write('VERSION\t1\t2\n' + [1, 2, 3].map((id) => `AUTH\t${id}\tLOGIN\tservice=smtp\n`).join(''));
    await until(() => peer.text().includes('FAIL\t3\t'), 'the refusal');
    expect(peer.text()).toMatch(/FAIL\t3\t.*code=temp_fail/);
    expect(peer.text()).toContain('CONT\t1\t');
    expect(peer.text()).toContain('CONT\t2\t');
    peer.socket.write(`AUTH\t4\tPLAIN\tservice=smtp\tresp=${plain(ALICE, password)}\n`);
    await until(() => peer.text().includes('FAIL\t4\t'), 'the second refusal');
    expect(stats('dovecot_auth').hits.get('pending_requests')).toBeGreaterThanOrEqual(2);
    peer.socket.destroy();
  });

  it('HTTP: a connection over the limit reads 503 with Retry-After and is closed; /metrics counts every front', async () => {
    const held = [raw(`127.0.0.1:${httpPort}`), raw(`127.0.0.1:${httpPort}`)];
    await until(() => stats('http').open === 2, 'two HTTP connections');
    const third = raw(`127.0.0.1:${httpPort}`);
    third.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await third.gone;
    expect(third.text()).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(third.text()).toContain('Retry-After: 1');
    expect(third.text()).not.toContain('"status"');
    for (const h of held) h.socket.destroy();
    await until(() => stats('http').open === 0, 'the closes to be counted');

    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: httpPort, path: '/metrics' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toMatch(/devicepass_connection_limit_hits_total\{surface="http",limit="connections"\} [1-9]/);
    expect(body).toMatch(/devicepass_connection_limit_hits_total\{surface="dovecot_auth",limit="connections_per_network"\} [1-9]/);
    expect(body).toMatch(/devicepass_connection_limit_hits_total\{surface="dovecot_auth",limit="pending_requests"\} [1-9]/);
    expect(body).toMatch(/devicepass_connections\{surface="http",state="open"\} 1/);
  });
});
