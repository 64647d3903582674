import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import { startMtaOnSaslDaemon } from './helpers/sasl-daemon.js';
import { postfixAvailable, startSaslPostfix, type SaslPostfix } from './helpers/sasl-postfix.js';
import { serversReady } from './helpers/require-servers.js';
import { swaks } from './helpers/swaks.js';
import { startBehindTempFail } from './helpers/temp-fail-auth.js';

const ALICE = 'alice@example.com';

/** Postfix submission with `smtpd_sasl_type = dovecot` pointed at devicepass's auth socket. */
describe.skipIf(!serversReady(postfixAvailable(), 'Postfix'))('Postfix SASL → devicepass', () => {
  let daemon: Daemon;
  let postfix: SaslPostfix;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ daemon, mta: postfix, stop } = await startMtaOnSaslDaemon(ALICE, 'dpp', startSaslPostfix));
  });
  afterAll(() => stop?.());

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
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ mta: postfix, stop } = await startBehindTempFail('dpt', startSaslPostfix));
  });
  afterAll(() => stop?.());

  // Postfix 3.7 reads no temporary marker from the Dovecot protocol: the client gets 535 carrying devicepass's reason text
  it('refuses with 535 and says the failure is temporary', async () => {
    const result = await swaks(postfix.port, 'PLAIN', ALICE, 'any password at all');
    expect(result.code).not.toBe(0);
    expect(result.out).toMatch(/535 5\.7\.8 Error: authentication failed: Temporary authentication failure/);
  });
});
