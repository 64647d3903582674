import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import { ROOT } from '../helpers/env.js';
import { startMtaOnSaslDaemon } from './helpers/sasl-daemon.js';
import { loginAndOpenInbox } from './helpers/imapflow-login.js';
import { dovecotAvailable, startDovecot, type DovecotInstance } from './helpers/sasl-dovecot.js';
import { serversReady } from './helpers/require-servers.js';

const ALICE = 'alice@example.com';

/** Dovecot with `passdb { driver = checkpassword }` pointed at devicepass-checkpassword, auth cache off. */
describe.skipIf(!serversReady(dovecotAvailable(), 'Dovecot'))('Dovecot checkpassword passdb → devicepass', () => {
  let daemon: Daemon;
  let dovecot: DovecotInstance;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ daemon, mta: dovecot, stop } = await startMtaOnSaslDaemon(ALICE, 'dpc', (socket) =>
      startDovecot({ auth: { kind: 'checkpassword', devicepassSocket: socket, programRoot: ROOT } })));
  });
  afterAll(() => stop?.());

  const login = (password: string) => loginAndOpenInbox(dovecot.port, ALICE, password);

  it('logs in with a device password, and refuses it on the next login after revoke', async () => {
    const device = await daemon.admin.addDevice(ALICE, { name: 'Thunderbird', scopes: 'imap' }, 'test');
    const other = await daemon.admin.addDevice(ALICE, { name: 'phone', scopes: 'imap' }, 'test');
    try {
      expect(await login(device.password)).toBe('INBOX');
      expect(await login(device.password)).toBe('INBOX');
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${dovecot.log().slice(-3000)}`);
    }
    await daemon.admin.revokeDevice(ALICE, device.id, 'test');
    await expect(login(device.password)).rejects.toThrow();
    // the other device keeps working
    expect(await login(other.password)).toBe('INBOX');
    const events = (await daemon.admin.events(ALICE, 10)).map((e) => JSON.stringify(e));
    expect(events.join('\n')).toContain('revoked');
  });

  it('refuses a wrong password and an SMTP-only device', async () => {
    const smtpOnly = await daemon.admin.addDevice(ALICE, { name: 'printer', scopes: 'smtp' }, 'test');
    await expect(login('certainly not the password')).rejects.toThrow();
    await expect(login(smtpOnly.password)).rejects.toThrow();
  });
});
