import { ImapFlow } from 'imapflow';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { ROOT, tempDir, testConfig } from '../helpers/env.js';
import { dovecotAvailable, startDovecot, type DovecotInstance } from './helpers/sasl-dovecot.js';
import { serversReady } from './helpers/require-servers.js';

const ALICE = 'alice@example.com';

/** Dovecot with `passdb { driver = checkpassword }` pointed at devicepass-checkpassword, auth cache off. */
describe.skipIf(!serversReady(dovecotAvailable(), 'Dovecot'))('Dovecot checkpassword passdb → devicepass', () => {
  let daemon: Daemon;
  let dovecot: DovecotInstance;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir('dpc');
    cleanup = tmp.cleanup;
    daemon = await startDaemon(
      testConfig(tmp.dir, { imap: { listen: [], listen_tls: [] }, smtp: { listen: [], listen_tls: [] }, http: { listen: [] }, dovecot_auth: { listen: ['auth.sock'], mode: '0666' } }),
    );
    await daemon.admin.addAddress(ALICE, 'test');
    dovecot = await startDovecot({ auth: { kind: 'checkpassword', devicepassSocket: path.join(tmp.dir, 'auth.sock'), programRoot: ROOT } });
  });
  afterAll(async () => {
    await dovecot?.stop();
    await daemon?.stop();
    cleanup?.();
  });

  const login = async (password: string) => {
    const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user: ALICE, pass: password }, logger: false });
    try {
      await client.connect();
      const box = await client.mailboxOpen('INBOX');
      await client.logout();
      return box.path;
    } catch (err) {
      client.close();
      throw err;
    }
  };

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
