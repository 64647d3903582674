import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { tempDir, testConfig } from '../helpers/env.js';
import { loginAndOpenInbox } from './helpers/imapflow-login.js';
import { nginxAvailable, startNginxMail, type NginxMail } from './helpers/nginx.js';
import { dovecotAvailable, startDovecot, type DovecotInstance } from './helpers/sasl-dovecot.js';
import { serversReady } from './helpers/require-servers.js';

const ALICE = 'alice@example.com';
const SECRET = 'e2e-nginx-secret';
const MASTER = { user: 'proxymaster', password: `mp-${Math.random().toString(36).slice(2)}` };

/** nginx mail proxy → auth_http at devicepass → Dovecot upstream logged in as the master user. */
describe.skipIf(!serversReady(nginxAvailable() && dovecotAvailable(), 'nginx with the mail module, and Dovecot'))('nginx mail auth_http → devicepass', () => {
  let daemon: Daemon;
  let dovecot: DovecotInstance;
  let nginx: NginxMail;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir('dpn');
    cleanup = tmp.cleanup;
    dovecot = await startDovecot({ auth: { kind: 'master', ...MASTER } });
    daemon = await startDaemon(
      testConfig(tmp.dir, {
        imap: { listen: [], listen_tls: [], upstream: { host: '127.0.0.1', port: dovecot.port, master_user: MASTER.user, master_password: MASTER.password } },
        smtp: { listen: [], listen_tls: [] },
        dovecot_auth: { listen: [] },
        http: { listen: ['127.0.0.1:0'], nginx_secret: SECRET },
      }),
    );
    await daemon.admin.addAddress(ALICE, 'test');
    const http = daemon.surfaces.find((s) => s.name === 'http')!.addresses()[0]!;
    nginx = await startNginxMail({ authUrl: `${http}/auth/nginx`, secret: SECRET });
  });
  afterAll(async () => {
    await nginx?.stop();
    await daemon?.stop();
    await dovecot?.stop();
    cleanup?.();
  });

  const login = (password: string, loginMethod?: 'LOGIN') => loginAndOpenInbox(nginx.imapPort, ALICE, password, loginMethod);

  it('logs in through nginx with a device password and selects INBOX upstream', async () => {
    const device = await daemon.admin.addDevice(ALICE, { name: 'Outlook', scopes: 'imap' }, 'test');
    try {
      expect(await login(device.password)).toBe('INBOX');
      expect(await login(device.password, 'LOGIN')).toBe('INBOX');
    } catch (err) {
      throw new Error(`${(err as Error).message}\nnginx:\n${nginx.log().slice(-2000)}\ndovecot:\n${dovecot.log().slice(-2000)}`);
    }
    expect(dovecot.log()).toMatch(/Login: user=<alice@example\.com>/);
    await daemon.admin.revokeDevice(ALICE, device.id, 'test');
    await expect(login(device.password)).rejects.toThrow();
  });

  it('refuses a wrong password without reaching Dovecot', async () => {
    await expect(login('not the right password at all')).rejects.toThrow();
  });
});
