import http from 'node:http';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { SaslClient } from '../../src/dovecot-auth/client.js';
import { RawImap } from '../helpers/imap-raw-client.js';
import { tempDir, testConfig } from '../helpers/env.js';

const ALICE = 'alice@example.com';
const SECRET = 'nginx shared secret for the test';

/** A line-at-a-time SMTP client over implicit TLS. */
async function smtpTls(port: number) {
  const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => undefined);
  const until = async (pattern: RegExp) => {
    const deadline = Date.now() + 5000;
    while (!text.split('\r\n').some((l) => pattern.test(l))) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const line = text.split('\r\n').find((l) => pattern.test(l))!;
    text = '';
    return line;
  };
  return { send: (line: string) => socket.write(`${line}\r\n`), until, close: () => socket.destroy() };
}

function get(base: string, headers: Record<string, string>): Promise<http.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    http.get(`http://${base}/auth/nginx`, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers));
    }).on('error', reject);
  });
}

/**
 * A client network out of hash tokens is told "try again later" on every
 * protocol, even with the right password: never "wrong password", which
 * makes a mail client ask its user for a new one.
 */
describe('a throttled login on every front', () => {
  let daemon: Daemon;
  let cleanup: () => void;
  let password: string;

  beforeAll(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    daemon = await startDaemon(
      testConfig(tmp.dir, {
        // loopback is not trusted here, and one hash per network is all it gets
        auth: { trusted_networks: [], network_hash_burst: 1, network_hash_rate: 0.0001, failure_delay: 0, failure_delay_max: 0 },
        imap: { listen: [], listen_tls: ['127.0.0.1:0'] },
        // a failed-login limit the POP3 case goes past with throttled answers alone
        pop3: { listen: [], listen_tls: ['127.0.0.1:0'], max_auth_failures: 2 },
        smtp: { listen: [], listen_tls: ['127.0.0.1:0'] },
        dovecot_auth: { listen: ['127.0.0.1:0'] },
        http: { listen: ['127.0.0.1:0'], nginx_secret: SECRET },
      }),
    );
    await daemon.admin.addAddress(ALICE, 'test');
    password = (await daemon.admin.addDevice(ALICE, { name: 'phone', scopes: ['imap', 'smtp', 'pop3'] }, 'test')).password;
    // 127.0.0.1 spends its one token on a wrong password
    const spent = await daemon.authenticator.authenticate({ address: ALICE, password: 'a wrong guess', protocol: 'imap', clientIp: '127.0.0.1', trusted: false });
    expect(spent).toMatchObject({ reason: 'wrong-password' });
  });
  afterAll(async () => {
    await daemon.stop();
    cleanup();
  });

  const port = (surface: string) => {
    const address = daemon.surfaces.find((s) => s.name === surface)!.addresses()[0]!;
    return { address, port: Number(address.slice(address.lastIndexOf(':') + 1)) };
  };

  it('IMAP: NO [UNAVAILABLE]', async () => {
    const client = await RawImap.connect(port('imap').port, { tls: true });
    await client.next(/^\* OK/);
    client.send(`a LOGIN "${ALICE}" "${password}"\r\n`);
    expect(await client.next(/^a /)).toMatch(/^a NO \[UNAVAILABLE\] /);
    client.destroy();
  });

  it('POP3: -ERR [SYS/TEMP], and throttled answers do not count towards the failed-login limit', async () => {
    const client = await RawImap.connect(port('pop3').port, { tls: true });
    await client.next(/^\+OK/);
    // max_auth_failures is 2: a third counted failure would close the connection
    for (let attempt = 0; attempt < 3; attempt++) {
      client.send(`USER ${ALICE}\r\n`);
      expect(await client.next(/^[+-]/)).toBe('+OK Send your password');
      client.send(`PASS ${password}\r\n`);
      expect(await client.next(/^[+-]/)).toBe('-ERR [SYS/TEMP] Authentication temporarily unavailable, try again later');
    }
    client.send(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${password}`).toString('base64')}\r\n`);
    expect(await client.next(/^[+-]/)).toMatch(/^-ERR \[SYS\/TEMP\] /);
    client.send('NOOP\r\n');
    expect(await client.next(/^[+-]/)).toBe('+OK');
    expect(client.isClosed).toBe(false);
    client.destroy();
  });

  it('SMTP: 454 4.7.0', async () => {
    const client = await smtpTls(port('smtp').port);
    await client.until(/^220 /);
    client.send('EHLO client.example');
    await client.until(/^250 /);
    client.send(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${password}`).toString('base64')}`);
    expect(await client.until(/^\d{3} /)).toMatch(/^454 4\.7\.0 /);
    client.close();
  });

  it('Dovecot SASL: FAIL with code=temp_fail', async () => {
    const client = await SaslClient.connect(port('dovecot_auth').address);
    const verdict = await client.plain({ user: ALICE, password, service: 'smtp', rip: '127.0.0.1' });
    expect(verdict).toMatchObject({ ok: false, temporary: true });
    client.close();
  });

  it('nginx auth_http: a temporary status with Auth-Wait', async () => {
    const headers = await get(port('http').address, {
      'X-Devicepass-Secret': SECRET,
      'Auth-Method': 'plain',
      'Auth-User': encodeURIComponent(ALICE),
      'Auth-Pass': encodeURIComponent(password),
      'Auth-Protocol': 'imap',
      'Auth-Login-Attempt': '1',
      'Client-IP': '127.0.0.1',
    });
    expect(headers).toMatchObject({ 'auth-status': 'Temporary authentication failure' });
    expect(headers['auth-wait']).toMatch(/^\d+$/);
  });
});
