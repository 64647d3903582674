import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore } from '../../../src/daemon.js';
import type { LoginFail, LoginOk } from '../../../src/auth/types.js';
import { silentLogger } from '../../../src/log/logger.js';
import { tempDir, testConfig } from '../../helpers/env.js';

type Core = ReturnType<typeof createCore>;
const ADDRESS = 'alice@example.com';
const REMOTE = '203.0.113.7';

describe('Authenticator', () => {
  let core: Core;
  let cleanup: () => void;

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    // no failure delays here: the throttle has its own tests
    core = createCore(testConfig(tmp.dir, { auth: { failure_delay: 0, failure_delay_max: 0 } }), silentLogger);
    await core.admin.addAddress(ADDRESS, 'test');
  });
  afterEach(() => {
    core.store.close();
    cleanup();
  });

  const login = (password: string, protocol: 'imap' | 'smtp' = 'imap', address = ADDRESS) =>
    core.authenticator.authenticate({ address, password, protocol, clientIp: REMOTE, trusted: false, clientName: 'test client' });
  const hashes = () => core.queue.stats().completed;

  it('accepts each device password and names its device', async () => {
    const phone = await core.admin.addDevice(ADDRESS, { name: 'iPhone' }, 'test');
    const laptop = await core.admin.addDevice(ADDRESS, { name: 'Laptop' }, 'test');
    const a = (await login(phone.password)) as LoginOk;
    const b = (await login(laptop.password)) as LoginOk;
    expect(a).toMatchObject({ ok: true, deviceName: 'iPhone', cached: false });
    expect(b).toMatchObject({ ok: true, deviceName: 'Laptop' });
  });

  it('ignores spaces and letter grouping the user types, and matches the address case-insensitively', async () => {
    const device = await core.admin.addDevice(ADDRESS, { name: 'iPhone' }, 'test');
    const bare = device.password.replace(/ /g, '');
    expect((await login(bare)).ok).toBe(true);
    expect((await login(` ${bare.slice(0, 5)} ${bare.slice(5)} `)).ok).toBe(true);
    expect((await login(device.password, 'imap', 'Alice@Example.COM')).ok).toBe(true);
    expect((await login(bare.toUpperCase())).ok).toBe(false);
  });

  it('refuses with the exact reason: unknown address, wrong password, malformed', async () => {
    await core.admin.addDevice(ADDRESS, { name: 'iPhone' }, 'test');
    expect(await login('whatever password here', 'imap', 'bob@example.com')).toMatchObject({ ok: false, reason: 'unknown-address', temporary: false });
    expect(await login('not the right password')).toMatchObject({ ok: false, reason: 'wrong-password' });
    expect(await login('x', 'imap', 'not an address')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(await login('')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(await login('a'.repeat(2000))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('costs one argon2id per cold attempt, none on a cache hit, whatever the number of devices', async () => {
    for (let i = 0; i < 20; i++) await core.admin.addDevice(ADDRESS, { name: `device ${i}` }, 'test');
    const last = await core.admin.addDevice(ADDRESS, { name: 'last' }, 'test');
    let before = hashes();
    expect((await login('wrong password, fresh')).ok).toBe(false);
    expect(hashes() - before).toBe(1);
    before = hashes();
    expect((await login(last.password)).ok).toBe(true);
    expect(hashes() - before).toBe(1);
    before = hashes();
    const again = (await login(last.password)) as LoginOk;
    expect(again).toMatchObject({ ok: true, cached: true });
    expect((await login('wrong password, fresh')) as LoginFail).toMatchObject({ ok: false, reason: 'wrong-password', cached: true });
    expect(hashes() - before).toBe(0);
  });

  it('an unknown address costs a hash like a known one', async () => {
    const before = hashes();
    await login('some password', 'imap', 'nobody@example.com');
    expect(hashes() - before).toBe(1);
  });

  it('refuses a revoked device at once, even from the cache, and names it', async () => {
    const phone = await core.admin.addDevice(ADDRESS, { name: 'iPhone' }, 'test');
    const laptop = await core.admin.addDevice(ADDRESS, { name: 'Laptop' }, 'test');
    expect((await login(phone.password)).ok).toBe(true); // now cached
    await core.admin.revokeDevice(ADDRESS, phone.id, 'test');
    // the revoke changed the address, so the cached proof is re-verified once (one hash), then cached as revoked
    const refused = (await login(phone.password)) as LoginFail;
    expect(refused).toMatchObject({ ok: false, reason: 'revoked', deviceName: 'iPhone' });
    expect(refused.since).toBeTypeOf('number');
    const before = hashes();
    expect(await login(phone.password)).toMatchObject({ ok: false, reason: 'revoked', cached: true });
    expect(hashes()).toBe(before);
    expect((await login(laptop.password)).ok).toBe(true);
  });

  it('after a reset the old password is "reset-away" and the new one works', async () => {
    const phone = await core.admin.addDevice(ADDRESS, { name: 'iPhone' }, 'test');
    expect((await login(phone.password)).ok).toBe(true);
    const reset = await core.admin.resetDevice(ADDRESS, phone.id, undefined, 'test');
    expect(reset.password).not.toBe(phone.password);
    expect(await login(phone.password)).toMatchObject({ ok: false, reason: 'reset-away', deviceName: 'iPhone' });
    expect(await login(reset.password)).toMatchObject({ ok: true, deviceName: 'iPhone' });
  });

  it('a tombstone is recognised without the cache too (fresh process view)', async () => {
    const phone = await core.admin.addDevice(ADDRESS, { name: 'Scanner' }, 'test');
    await core.admin.revokeDevice(ADDRESS, phone.id, 'test');
    expect(await login(phone.password)).toMatchObject({ ok: false, reason: 'revoked', deviceName: 'Scanner', cached: false });
  });

  it('enforces scopes per protocol', async () => {
    const crm = await core.admin.addDevice(ADDRESS, { name: 'CRM', scopes: 'smtp' }, 'test');
    expect(await login(crm.password, 'smtp')).toMatchObject({ ok: true });
    expect(await login(crm.password, 'imap')).toMatchObject({ ok: false, reason: 'scope', deviceName: 'CRM' });
  });

  it('refuses an expired device, also from the cache', async () => {
    let now = Date.now();
    const tmp = tempDir();
    const local = createCore(testConfig(tmp.dir), silentLogger);
    try {
      // a clock the test moves: the same store, an authenticator and admin that read it
      const { Authenticator } = await import('../../../src/auth/authenticator.js');
      const { CredentialAdmin } = await import('../../../src/credentials/admin.js');
      const clock = () => now;
      const admin = new CredentialAdmin(local.driver.admin, local.registry, { memoryKib: 1024, iterations: 1, parallelism: 1 }, clock);
      const auth = new Authenticator({
        reads: local.driver.reads, cache: local.cache, queue: local.queue, throttle: local.throttle, recorder: local.recorder,
        params: { memoryKib: 1024, iterations: 1, parallelism: 1 }, log: silentLogger, now: clock,
      });
      await admin.addAddress(ADDRESS, 'test');
      const intern = await admin.addDevice(ADDRESS, { name: 'Intern', expires: '7d' }, 'test');
      const attempt = { address: ADDRESS, password: intern.password, protocol: 'imap' as const, clientIp: REMOTE, trusted: false };
      expect((await auth.authenticate(attempt)).ok).toBe(true);
      now += 7 * 86_400_000 + 1;
      expect(await auth.authenticate(attempt)).toMatchObject({ ok: false, reason: 'expired', cached: true });
    } finally {
      local.store.close();
      tmp.cleanup();
    }
  });

  it('a cached wrong password becomes right when a device gets exactly that password', async () => {
    const chosen = 'correct horse battery staple';
    expect(await login(chosen)).toMatchObject({ ok: false, reason: 'wrong-password' });
    expect(await login(chosen)).toMatchObject({ ok: false, reason: 'wrong-password', cached: true });
    await core.admin.addDevice(ADDRESS, { name: 'Chosen', password: chosen }, 'test');
    expect(await login(chosen)).toMatchObject({ ok: true, deviceName: 'Chosen' });
  });

  it('a cached unknown address becomes known when the address is added', async () => {
    const bob = 'bob@example.com';
    const password = 'the password of bob, chosen';
    expect(await login(password, 'imap', bob)).toMatchObject({ reason: 'unknown-address' });
    await core.admin.addAddress(bob, 'test');
    await core.admin.addDevice(bob, { name: 'Phone', password }, 'test');
    expect(await login(password, 'imap', bob)).toMatchObject({ ok: true });
  });

  it('records last use and the login results in the audit log', async () => {
    const phone = await core.admin.addDevice(ADDRESS, { name: 'iPhone' }, 'test');
    await login(phone.password, 'smtp');
    await login(phone.password, 'smtp');
    await login('wrong wrong wrong');
    core.recorder.flush();
    const [device] = await core.admin.listDevices(ADDRESS);
    expect(device!.lastUsed).toMatchObject({ protocol: 'smtp', ip: REMOTE, client: 'test client' });
    const events = await core.admin.events(ADDRESS, 10);
    const ok = events.find((e) => e.type === 'login.ok')!;
    expect(ok).toMatchObject({ deviceName: 'iPhone', protocol: 'smtp', count: 2 });
    expect(events.find((e) => e.type === 'login.fail')).toMatchObject({ reason: 'wrong-password', ip: REMOTE });
  });

  it('never stores or logs the password anywhere in the database', async () => {
    const phone = await core.admin.addDevice(ADDRESS, { name: 'iPhone' }, 'test');
    await login(phone.password);
    await login('a wrong password to log');
    core.recorder.flush();
    const dump = JSON.stringify(core.store.database.prepare('SELECT * FROM event').all())
      + JSON.stringify(core.store.database.prepare('SELECT * FROM device').all());
    expect(dump).not.toContain(phone.password.replace(/ /g, ''));
    expect(dump).not.toContain(phone.password);
    expect(dump).not.toContain('a wrong password to log');
  });
});

describe('Authenticator under attack', () => {
  it('locks fresh attempts on an address after repeated wrong passwords, while cached proofs still log in', async () => {
    const tmp = tempDir();
    const core = createCore(
      testConfig(tmp.dir, { auth: { failure_delay: 0, failure_delay_max: 0, lockout_failures: 3, lockout_window: '10m' } }),
      silentLogger,
    );
    try {
      await core.admin.addAddress(ADDRESS, 'test');
      const phone = await core.admin.addDevice(ADDRESS, { name: 'iPhone' }, 'test');
      const attempt = (password: string, clientIp = '198.51.100.9', trusted = false) =>
        core.authenticator.authenticate({ address: ADDRESS, password, protocol: 'imap', clientIp, trusted });
      expect((await attempt(phone.password)).ok).toBe(true);
      for (let i = 0; i < 3; i++) expect(await attempt(`guess number ${i}`)).toMatchObject({ reason: 'wrong-password' });
      // the same stale password again is a cache hit: it neither escalates nor costs a hash
      expect(await attempt('guess number 0')).toMatchObject({ reason: 'wrong-password', cached: true });
      const before = core.queue.stats().completed;
      expect(await attempt('guess number 99')).toMatchObject({ reason: 'throttled' });
      expect(core.queue.stats().completed).toBe(before);
      expect(await attempt(phone.password)).toMatchObject({ ok: true, cached: true });
      // clients the transport vouches for are never locked out
      expect(await attempt('guess from inside', '127.0.0.1', true)).toMatchObject({ reason: 'wrong-password' });
    } finally {
      core.store.close();
      tmp.cleanup();
    }
  });

  it('delays failures for a penalised IP but never a success', async () => {
    const tmp = tempDir();
    const core = createCore(testConfig(tmp.dir, { auth: { failure_delay: '200ms', failure_delay_max: '200ms' } }), silentLogger);
    try {
      await core.admin.addAddress(ADDRESS, 'test');
      const phone = await core.admin.addDevice(ADDRESS, { name: 'iPhone' }, 'test');
      const attempt = (password: string) =>
        core.authenticator.authenticate({ address: ADDRESS, password, protocol: 'imap', clientIp: '198.51.100.10', trusted: false });
      expect((await attempt(phone.password)).ok).toBe(true);
      await attempt('first wrong password');
      let start = performance.now();
      await attempt('second wrong password');
      expect(performance.now() - start).toBeGreaterThanOrEqual(190);
      start = performance.now();
      expect((await attempt(phone.password)).ok).toBe(true);
      expect(performance.now() - start).toBeLessThan(150);
    } finally {
      core.store.close();
      tmp.cleanup();
    }
  });
});
