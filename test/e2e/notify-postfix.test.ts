import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import { postfixAsRootReady, startDaemonBeforePostfix, type PostfixInstance } from './helpers/postfix.js';

const ALICE = 'alice@example.com';

/** New-device notices through a real Postfix: the message lands in the address's own mailbox. */
describe.skipIf(!postfixAsRootReady())('new-device notices delivered by a real Postfix', () => {
  let postfix: PostfixInstance;
  let daemon: Daemon;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ postfix, daemon, stop } = await startDaemonBeforePostfix(ALICE, {
      smtp: { listen: [], listen_tls: [] },
      web: { public_url: 'https://mail.example.com' },
      notify: { enabled: true, retry_delay: '200ms' },
    }));
  });
  afterAll(() => stop?.());

  it('mails the address when a device is set up through an invitation, without the password', async () => {
    const url = (await daemon.invitations.create(ALICE, { name: 'iPhone' }, 'cli:root')).url;
    const { device } = await daemon.invitations.redeem(url.split('/').pop()!, { name: 'iPhone', ip: '198.51.100.7' });
    const [delivered] = await postfix.waitForMessages(1);
    expect(delivered).toContain('Subject: New device on your mail account: iPhone');
    expect(delivered).toMatch(/^To: alice@example\.com$/m);
    expect(delivered).toMatch(/^From: devicepass@mail\.example\.com$/m);
    expect(delivered).toContain('from the network address 198.51.100.7');
    expect(delivered).not.toContain(device.password.replace(/ /g, ''));
  });
});
