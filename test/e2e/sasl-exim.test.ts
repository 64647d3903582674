import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frontSections, spawnDevicepassd, type DevicepassProcess } from '../../scripts/e2e/devicepassd.js';
import { tempDir } from '../helpers/env.js';
import { EXIM_USER, eximReady, startExim, type EximInstance } from './helpers/exim.js';
import { serversReady } from './helpers/require-servers.js';
import { swaks } from './helpers/swaks.js';
import { startBehindTempFail, type TempFailAuthServer } from './helpers/temp-fail-auth.js';

const ALICE = 'alice@example.com';
const exim = eximReady();
const ready = () => serversReady(exim.ok, `Exim from exim4-daemon-heavy, unpacked by scripts/e2e/exim.ts, with swaks (${exim.problem ?? 'ready'})`);

interface AuditEntry { type: string; deviceName: string | null; reason: string | null; protocol: string | null; ip: string | null }

/**
 * docs/recipes/exim.md for real: Exim's `dovecot` authenticator against
 * devicepassd's `[dovecot_auth]` socket with the recipe's mode and group,
 * devicepassd as its own process administered through the CLI. Exim reads
 * the whole handshake up to DONE before it sends anything, then opens one
 * connection per AUTH.
 */
describe.skipIf(!ready())('Exim dovecot authenticator → devicepass', () => {
  let daemon: DevicepassProcess;
  let server: EximInstance;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir('dpx');
    cleanup = tmp.cleanup;
    daemon = await spawnDevicepassd(
      tmp.dir,
      `${frontSections()}
[dovecot_auth]
listen = ["auth.sock"]
mode = "0660"
group = "${EXIM_USER}"
`,
    );
    await daemon.cli('address', 'add', ALICE);
    server = await startExim(path.join(tmp.dir, 'auth.sock'));
  });
  afterAll(async () => {
    await server?.stop();
    await daemon?.stop();
    cleanup?.();
  });

  const addDevice = async (name: string, scopes: string) =>
    JSON.parse((await daemon.cli('device', 'add', ALICE, '--name', name, '--scopes', scopes)).stdout) as { id: string; password: string };
  const logs = () => `\nexim mainlog:\n${server.mainlog().slice(-2000)}\nexim paniclog:\n${server.paniclog()}`;

  it('accepts a device password (PLAIN and LOGIN) and refuses it on the next attempt after `devicepass device revoke`', async () => {
    const device = await addDevice('CRM', 'smtp');
    const other = await addDevice('phone', 'smtp');

    const plain = await swaks(server.port, 'PLAIN', ALICE, device.password);
    expect(plain.code, `${plain.out}${logs()}`).toBe(0);
    expect(plain.out).toContain('235 Authentication succeeded');
    const login = await swaks(server.port, 'LOGIN', ALICE, device.password);
    expect(login.code, `${login.out}${logs()}`).toBe(0);
    // Exim's own prompts are devicepass's CONT lines, passed through
    expect(login.out).toMatch(/334 VXNlcm5hbWU6[\s\S]*334 UGFzc3dvcmQ6[\s\S]*235 Authentication succeeded/);
    expect(server.mainlog()).toMatch(/<= alice@example\.com .*P=esmtpa A=dovecot_plain:alice@example\.com /);
    expect(server.mainlog()).toMatch(/<= alice@example\.com .*P=esmtpa A=dovecot_login:alice@example\.com /);

    await daemon.cli('device', 'revoke', ALICE, device.id);
    for (const mechanism of ['PLAIN', 'LOGIN'] as const) {
      const refused = await swaks(server.port, mechanism, ALICE, device.password);
      expect(refused.code, refused.out).not.toBe(0);
      expect(refused.out).toContain('535 Incorrect authentication data');
    }
    expect((await swaks(server.port, 'PLAIN', ALICE, other.password)).code).toBe(0);

    const audit = JSON.parse((await daemon.cli('log', ALICE, '--limit', '20')).stdout) as AuditEntry[];
    // the refusal is devicepass's, for the revocation, and Exim passed the client's address along (rip=)
    expect(audit).toContainEqual(expect.objectContaining({ type: 'login.fail', deviceName: 'CRM', reason: 'revoked', protocol: 'smtp', ip: '127.0.0.1' }));
    expect(server.paniclog()).toBe('');
  });

  it('refuses a wrong password and an IMAP-only device (Exim asks for service=smtp)', async () => {
    const imapOnly = await addDevice('reader', 'imap');
    for (const mechanism of ['PLAIN', 'LOGIN'] as const) {
      const wrong = await swaks(server.port, mechanism, ALICE, 'wrong wrong wrong wrong');
      expect(wrong.code, wrong.out).not.toBe(0);
      expect(wrong.out).toContain('535 Incorrect authentication data');
    }
    expect((await swaks(server.port, 'PLAIN', ALICE, imapOnly.password)).out).toContain('535 Incorrect authentication data');
    expect(server.mainlog()).toMatch(/dovecot_plain authenticator failed for .*: 535 Incorrect authentication data \(set_id=alice@example\.com\)/);
  });
});

/**
 * What Exim makes of devicepass's temporary failure and of an unreachable
 * socket, as docs/recipes/exim.md states it: a stand-in auth server answers
 * every AUTH with `FAIL … code=temp_fail temp`, then goes away.
 */
describe.skipIf(!ready())('Exim dovecot authenticator, temporary failures', () => {
  let server: EximInstance;
  let fake: TempFailAuthServer;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ mta: server, fake, stop } = await startBehindTempFail('dpy', startExim));
  });
  afterAll(() => stop?.());

  // Exim's dovecot driver treats every FAIL as a refusal: no temporary marker is read
  it('answers a temporary FAIL with 535, and a socket that is gone with 435', async () => {
    const temp = await swaks(server.port, 'PLAIN', ALICE, 'any password at all');
    expect(temp.code).not.toBe(0);
    expect(temp.out).toContain('535 Incorrect authentication data');

    await fake.close();
    const gone = await swaks(server.port, 'PLAIN', ALICE, 'any password at all');
    expect(gone.code).not.toBe(0);
    expect(gone.out).toContain('435 Unable to authenticate at present');
    expect(server.mainlog()).toMatch(/435 Unable to authenticate at present: unable to connect to UNIX socket/);
  });
});
