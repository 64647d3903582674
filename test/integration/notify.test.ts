import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log/logger.js';
import { tempDir, testConfig } from '../helpers/env.js';
import { FakeMta } from '../unit/smtp/helpers.js';

const ALICE = 'alice@example.com';

/** Polls a condition (bounded: 200 tries, 25 ms apart). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('new-device notices', () => {
  let daemon: Daemon;
  let mta: FakeMta;
  let cleanup: () => void;
  const logs: string[] = [];
  const logged = (text: string) => logs.filter((line) => line.includes(text)).length;

  beforeAll(async () => {
    mta = new FakeMta();
    const port = await mta.start();
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    daemon = await startDaemon(
      testConfig(tmp.dir, {
        smtp: { listen: [], listen_tls: [], upstream: { host: '127.0.0.1', port, tls: 'none' } },
        dovecot_auth: { listen: [] },
        web: { public_url: 'https://mail.example.com' },
        notify: { enabled: true, retry_delay: '50ms', max_attempts: 3 },
      }),
      createLogger('debug', { write: (line: string) => void logs.push(line) }),
    );
    await daemon.admin.addAddress(ALICE, 'test');
  });
  afterAll(async () => {
    await daemon.stop();
    await mta.stop();
    cleanup();
  });

  it('mails the address when a device is added, without blocking the command, retrying a temporary refusal', async () => {
    mta.refuseData = { code: 451, message: '4.3.0 try again later' };
    const device = await daemon.admin.addDevice(ALICE, { name: 'iPhone' }, 'cli:root');
    // the command has returned; nothing has been delivered yet
    expect(mta.received).toHaveLength(0);
    await until(() => logged('notice deferred') >= 1, 'the first attempt to be deferred');
    mta.refuseData = null;
    await until(() => mta.received.length === 1, 'the notice');
    const [notice] = mta.received;
    expect(notice!.to).toEqual([ALICE]);
    expect(notice!.from).toBe('devicepass@mail.example.com');
    expect(notice!.data).toContain('Subject: New device on your mail account: iPhone');
    expect(notice!.data).toContain('"iPhone" (id 1)');
    expect(notice!.data).toContain('by your mail administrator');
    expect(notice!.data).toContain('Auto-Submitted: auto-generated');
    expect(notice!.data).not.toContain(device.password);
    expect(notice!.data).not.toContain(device.password.replace(/ /g, ''));
  });

  it('names the network an invitation was used from, and mails resets and revocations too', async () => {
    const url = (await daemon.invitations.create(ALICE, {}, 'cli:root')).url;
    const { device } = await daemon.invitations.redeem(url.split('/').pop()!, { name: 'Tablet', ip: '192.0.2.9' });
    await daemon.admin.resetDevice(ALICE, device.id, undefined, 'cli:root');
    await daemon.admin.revokeDevice(ALICE, device.id, 'cli:root');
    await until(() => mta.received.length === 4, 'three more notices');
    // quoted-printable soft line breaks undone, should a long device name need them
    const [added, reset, revoked] = mta.received.slice(1).map((m) => m.data.replace(/=\r?\n/g, ''));
    expect(added).toContain('set up through an invitation link');
    expect(added).toContain('from the network address 192.0.2.9');
    expect(added).not.toContain(device.password.replace(/ /g, ''));
    expect(reset).toContain('Subject: Device password changed on your mail account: Tablet');
    expect(revoked).toContain('Subject: Device removed from your mail account: Tablet');
  });

  it('gives up on a permanent refusal at once', async () => {
    mta.refuseData = { code: 550, message: '5.7.1 not allowed' };
    const before = logged('notice deferred');
    await daemon.admin.addDevice(ALICE, { name: 'Scanner' }, 'cli:root');
    await until(() => logged('notice not sent') === 1, 'the refusal');
    expect(logged('notice deferred')).toBe(before);
    mta.refuseData = null;
  });
});
