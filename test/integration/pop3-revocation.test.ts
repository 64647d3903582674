/**
 * Revocation cuts live POP3 sessions (issue 12): revoke, revoke-all and a
 * device's expiry each end the device's proxied sessions with
 * `-ERR [SYS/PERM]` and a close within 100 ms, the upstream connection
 * included, while other devices' sessions stay proxied. The reset case and
 * `devicepass sessions` are in pop3.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawImap as RawLines } from '../helpers/imap-raw-client.js';
import { rawAuth, rawLogin, startPop3Env, type Pop3Env } from '../helpers/pop3-env.js';
import { addExpiringDevice, closedSince, cutsSince } from '../helpers/session-cuts.js';

const ADDRESS = 'alice@example.com';
const OTHER_ADDRESS = 'bob@example.com';
const REVOKED = '-ERR [SYS/PERM] Session revoked by administrator';
/** The bound issue 12 sets, from the moment the cut was asked for (or the expiry time) to both sockets closed. */
const BOUND_MS = 100;

async function say(c: RawLines, line: string): Promise<string> {
  c.send(`${line}\r\n`);
  return c.next(/^[+-]/);
}

describe('POP3 sessions cut by revocation and expiry', () => {
  let env: Pop3Env;
  beforeAll(async () => {
    env = await startPop3Env({ devices: { phone: {}, laptop: {}, tablet: {} } });
  });
  afterAll(async () => env?.stop());

  it('device revoke: its sessions get [SYS/PERM] and close within 100 ms, their upstream connections too; another device stays', async () => {
    const phone = [await rawLogin(env, env.devices.phone!.password), await rawLogin(env, env.devices.phone!.password)];
    const laptop = await rawLogin(env, env.devices.laptop!.password);
    // one of them is mid-conversation with the upstream
    expect(await say(phone[0]!.client, 'STAT')).toMatch(/^\+OK 1 \d+$/);

    const started = performance.now();
    const revoked = await env.daemon.admin.revokeDevice(ADDRESS, env.devices.phone!.id, 'test');
    expect(revoked.sessionsClosed).toBe(2);
    for (const { line, ms } of await cutsSince(phone.map((p) => p.client), /^-ERR/, started)) {
      expect(line).toBe(REVOKED);
      expect(ms).toBeLessThan(BOUND_MS);
    }
    for (const ms of await closedSince(phone.map((p) => p.upstream.closed), started)) expect(ms).toBeLessThan(BOUND_MS);

    expect(laptop.client.isClosed).toBe(false);
    expect(await say(laptop.client, 'X-WHOAMI')).toBe(`+OK ${ADDRESS}`);
    expect(env.daemon.registry.list(ADDRESS).map((s) => s.deviceName)).toEqual(['laptop']);
    laptop.client.destroy();
  });

  it('device expiry: a session of a device expiring in 1 s is cut within 100 ms of the expiry, upstream included; a new login is refused', async () => {
    const intern = await addExpiringDevice(env.daemon, ADDRESS, 'intern', '1s', ['pop3']);
    const session = await rawLogin(env, intern.password);
    const keeper = await rawLogin(env, env.devices.tablet!.password);
    // the expiry as a performance.now() mark: the cut is timed from it
    const expiry = performance.now() + (intern.expiresAt - Date.now());

    const [cut] = await cutsSince([session.client], /^-ERR/, expiry);
    expect(cut!.line).toBe(REVOKED);
    // never before the expiry (Date.now() counts whole milliseconds), and soon after
    expect(cut!.ms).toBeGreaterThanOrEqual(-2);
    expect(cut!.ms).toBeLessThan(BOUND_MS);
    const [upstreamMs] = await closedSince([session.upstream.closed], expiry);
    expect(upstreamMs).toBeLessThan(BOUND_MS);

    const again = await rawAuth(env, intern.password);
    expect(again.answer).toBe('-ERR [AUTH] Authentication failed');
    again.client.destroy();
    expect(await say(keeper.client, 'X-WHOAMI')).toBe(`+OK ${ADDRESS}`);
    keeper.client.destroy();
  });

  it("device revoke-all: every session of the address is cut within 100 ms, upstream included; another address's session stays", async () => {
    await env.daemon.admin.addAddress(OTHER_ADDRESS, 'test');
    const bobDevice = await env.daemon.admin.addDevice(OTHER_ADDRESS, { name: 'phone', scopes: ['pop3'] }, 'test');
    const bob = await rawLogin(env, bobDevice.password, OTHER_ADDRESS);
    const alice = [await rawLogin(env, env.devices.laptop!.password), await rawLogin(env, env.devices.tablet!.password)];

    const started = performance.now();
    const revoked = await env.daemon.admin.revokeAll(ADDRESS, true, false, 'test');
    expect(revoked.sessionsClosed).toBe(2);
    for (const { line, ms } of await cutsSince(alice.map((a) => a.client), /^-ERR/, started)) {
      expect(line).toBe(REVOKED);
      expect(ms).toBeLessThan(BOUND_MS);
    }
    for (const ms of await closedSince(alice.map((a) => a.upstream.closed), started)) expect(ms).toBeLessThan(BOUND_MS);

    expect(env.daemon.registry.list(ADDRESS)).toEqual([]);
    expect(await say(bob.client, 'X-WHOAMI')).toBe(`+OK ${OTHER_ADDRESS}`);
    bob.client.destroy();
  });
});
