import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-raw-client.js';
import { rawLogin, startImapEnv, type ImapEnv } from '../helpers/imap-env.js';
import { addExpiringDevice } from '../helpers/session-cuts.js';

const ADDRESS = 'alice@example.com';

/** A device's expiry ends its live sessions at that time, as a revocation does, IDLE included. */
describe('IMAP front: expiry ends live sessions', () => {
  let env: ImapEnv;

  beforeAll(async () => {
    env = await startImapEnv({ devices: { keeper: undefined } });
  });
  afterAll(async () => {
    await env?.stop();
  });

  const addExpiring = (name: string, expires: string) => addExpiringDevice(env.daemon, ADDRESS, name, expires);

  it('an IDLE session of a device expiring in 1 s gets * BYE and is closed; other devices stay', async () => {
    const intern = await addExpiring('intern', '1s');
    const idle = await rawLogin(env, intern.password);
    const keeper = await rawLogin(env, env.devices.keeper!.password);
    idle.send('i1 IDLE\r\n');
    await idle.next(/^\+ idling/);
    expect(await idle.next(/^\* BYE/, 4000)).toMatch(/^\* BYE /);
    await idle.waitClosed(1000);
    expect(env.daemon.registry.list(ADDRESS).map((s) => s.deviceName)).not.toContain('intern');
    // a fresh login with the expired password is refused too
    const again = await RawImap.connect(env.tlsPort, { tls: true });
    await again.next(/^\* OK/);
    expect((await again.command('l', `LOGIN ${ADDRESS} "${intern.password}"`)).at(-1)).toMatch(/^l NO/);
    again.destroy();
    expect(await keeper.command('n1', 'NOOP')).toEqual(['n1 OK NOOP completed']);
    keeper.destroy();
  });

  it('a device revoked before its expiry leaves no timer behind', async () => {
    const temp = await addExpiring('temp', '1h');
    const session = await rawLogin(env, temp.password);
    await env.daemon.admin.revokeDevice(ADDRESS, temp.id, 'test');
    await session.next(/^\* BYE/);
    await session.waitClosed(1000);
    expect(env.daemon.registry.list(ADDRESS).map((s) => s.deviceName)).not.toContain('temp');
    expect(env.daemon.expiry.watching).toBe(0);
  });
});
