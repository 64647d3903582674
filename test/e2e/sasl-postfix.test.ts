import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { tempDir, testConfig } from '../helpers/env.js';
import { postfixAvailable, startSaslPostfix, type SaslPostfix } from './helpers/sasl-postfix.js';
import { serversReady } from './helpers/require-servers.js';
import { startTempFailAuthServer, type TempFailAuthServer } from './helpers/temp-fail-auth.js';

const ALICE = 'alice@example.com';

/** swaks through a whole submission: AUTH, MAIL, RCPT, DATA. Resolves with its exit code and transcript. */
function swaks(port: number, mechanism: 'PLAIN' | 'LOGIN', user: string, password: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'swaks',
      ['--server', '127.0.0.1', '--port', String(port), '--auth', mechanism, '--auth-user', user, '--auth-password', password, '--from', user, '--to', 'bob@example.org', '--timeout', '20'],
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

/** Postfix submission with `smtpd_sasl_type = dovecot` pointed at devicepass's auth socket. */
describe.skipIf(!serversReady(postfixAvailable(), 'Postfix'))('Postfix SASL → devicepass', () => {
  let daemon: Daemon;
  let postfix: SaslPostfix;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir('dpp');
    cleanup = tmp.cleanup;
    daemon = await startDaemon(
      testConfig(tmp.dir, { imap: { listen: [], listen_tls: [] }, smtp: { listen: [], listen_tls: [] }, http: { listen: [] }, dovecot_auth: { listen: ['auth.sock'], mode: '0666' } }),
    );
    await daemon.admin.addAddress(ALICE, 'test');
    postfix = await startSaslPostfix(path.join(tmp.dir, 'auth.sock'));
  });
  afterAll(async () => {
    await postfix?.stop();
    await daemon?.stop();
    cleanup?.();
  });

  it('accepts a device password (PLAIN and LOGIN), refuses it on the next attempt after revoke', async () => {
    const device = await daemon.admin.addDevice(ALICE, { name: 'CRM', scopes: 'smtp' }, 'test');
    const other = await daemon.admin.addDevice(ALICE, { name: 'phone', scopes: 'smtp' }, 'test');
    const first = await swaks(postfix.port, 'PLAIN', ALICE, device.password);
    expect(first.code, `${first.out}\n${postfix.log().slice(-2000)}`).toBe(0);
    expect(first.out).toContain('235 2.7.0 Authentication successful');
    expect((await swaks(postfix.port, 'LOGIN', ALICE, device.password)).code).toBe(0);

    await daemon.admin.revokeDevice(ALICE, device.id, 'test');
    const refused = await swaks(postfix.port, 'PLAIN', ALICE, device.password);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/535 5\.7\.8/);
    expect((await swaks(postfix.port, 'PLAIN', ALICE, other.password)).code).toBe(0);
    expect(postfix.log()).toMatch(/sasl_username=alice@example\.com/);
  });

  it('refuses a wrong password and an IMAP-only device', async () => {
    const imapOnly = await daemon.admin.addDevice(ALICE, { name: 'reader', scopes: 'imap' }, 'test');
    expect((await swaks(postfix.port, 'PLAIN', ALICE, 'wrong wrong wrong wrong')).out).toMatch(/535 5\.7\.8/);
    expect((await swaks(postfix.port, 'PLAIN', ALICE, imapOnly.password)).out).toMatch(/535 5\.7\.8/);
  });
});

/** What Postfix makes of `FAIL … code=temp_fail`: a stand-in auth server answers every AUTH that way. */
describe.skipIf(!serversReady(postfixAvailable(), 'Postfix'))('Postfix SASL temporary failure', () => {
  let postfix: SaslPostfix;
  let fake: TempFailAuthServer;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir('dpt');
    cleanup = tmp.cleanup;
    fake = await startTempFailAuthServer(tmp.dir);
    postfix = await startSaslPostfix(fake.socketPath);
  });
  afterAll(async () => {
    await postfix?.stop();
    await fake?.close();
    cleanup?.();
  });

  // Postfix 3.7 reads no temporary marker from the Dovecot protocol: the client gets 535 carrying devicepass's reason text
  it('refuses with 535 and says the failure is temporary', async () => {
    const result = await swaks(postfix.port, 'PLAIN', ALICE, 'any password at all');
    expect(result.code).not.toBe(0);
    expect(result.out).toMatch(/535 5\.7\.8 Error: authentication failed: Temporary authentication failure/);
  });
});
