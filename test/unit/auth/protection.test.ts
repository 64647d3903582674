import { readFileSync } from 'node:fs';
import path from 'node:path';
import argon2 from 'argon2';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCore } from '../../../src/daemon.js';
import type { LoginAttempt } from '../../../src/auth/types.js';
import { silentLogger } from '../../../src/log/logger.js';
import { ROOT, tempDir, testConfig } from '../../helpers/env.js';

interface Fixture { scheme: string; hash: string; password: string }
const fixtures = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/legacy-hashes.json'), 'utf8')) as Fixture[];
const ARGON2ID_GENERIC = fixtures.find((f) => f.scheme === 'ARGON2ID')!;
/** A generic password that normalization leaves alone (no spaces), so it can be re-stored as a digest. */
const MIGRATED = { password: 'Migration-Day-2026', hash: '' };

const KNOWN = 'alice@example.com';
const UNKNOWN = 'nobody@example.com';
const ATTACKER = '198.51.100.66';
const OWNER_HOME = '203.0.113.50';

/**
 * What an attacker on the open internet can and cannot do: enumerate
 * addresses, lock the owner out, read address kinds from timing, and what a
 * reconnecting herd of the owner's own clients gets.
 */
describe('Authenticator protections', () => {
  let core: ReturnType<typeof createCore>;
  let cleanup: () => void;

  beforeAll(async () => {
    MIGRATED.hash = `{ARGON2ID}${await argon2.hash(MIGRATED.password, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 })}`;
  });
  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    // no failure delays: what is compared here is the treatment, not the waiting
    core = createCore(testConfig(tmp.dir, { auth: { failure_delay: 0, failure_delay_max: 0 } }), silentLogger);
    await core.admin.addAddress(KNOWN, 'test');
  });
  afterEach(() => {
    core.store.close();
    cleanup();
  });

  const attempt = (address: string, password: string, clientIp: string, extra: Partial<LoginAttempt> = {}) =>
    core.authenticator.authenticate({ address, password, protocol: 'imap', clientIp, trusted: false, ...extra });
  const hashes = () => core.queue.stats().completed;

  it('treats a known and an unknown address alike after ten wrong guesses: same answer, same work', async () => {
    await core.admin.addDevice(KNOWN, { name: 'iPhone' }, 'test');
    const eleventh: Record<string, { reason: unknown; temporary: unknown; hashes: number }> = {};
    for (const address of [KNOWN, UNKNOWN]) {
      for (let i = 0; i < 10; i++) await attempt(address, `guess ${i} for ${address}`, ATTACKER);
      const before = hashes();
      const result = await attempt(address, `guess 10 for ${address}`, ATTACKER);
      eleventh[address] = { reason: result.ok ? 'ok' : result.reason, temporary: !result.ok && result.temporary, hashes: hashes() - before };
    }
    expect(eleventh[KNOWN]).toEqual(eleventh[UNKNOWN]);
  });

  it('lets the owner in with the right password and no cached proof while an attack on the address runs from elsewhere', async () => {
    const phone = await core.admin.addDevice(KNOWN, { name: 'iPhone' }, 'test');
    const laptop = await core.admin.addDevice(KNOWN, { name: 'Laptop' }, 'test');
    expect((await attempt(KNOWN, laptop.password, OWNER_HOME)).ok).toBe(true); // the laptop's proof is cached
    for (let i = 0; i < 30; i++) await attempt(KNOWN, `guess ${i}`, `198.51.100.${i % 3}`);
    // the phone after a restart: its proof is not cached
    expect(await attempt(KNOWN, phone.password, OWNER_HOME)).toMatchObject({ ok: true, deviceName: 'iPhone', cached: false });
    // a proven device keeps logging in from anywhere
    expect(await attempt(KNOWN, laptop.password, '198.51.100.1')).toMatchObject({ ok: true, cached: true });
  });

  it('refuses the attacking network temporarily, never as a wrong password, without hashing', async () => {
    const phone = await core.admin.addDevice(KNOWN, { name: 'iPhone' }, 'test');
    for (let i = 0; i < 10; i++) await attempt(KNOWN, `guess ${i}`, ATTACKER);
    const before = hashes();
    // even the right password, from the network that has been guessing, is "try later", not "wrong"
    const refused = await attempt(KNOWN, phone.password, ATTACKER);
    expect(refused).toMatchObject({ ok: false, reason: 'throttled', temporary: true });
    expect(hashes()).toBe(before);
  });

  it('counts an IPv6 client network as one /64', async () => {
    for (let i = 0; i < 10; i++) await attempt(KNOWN, `guess ${i}`, `2001:db8:1:2::${(i + 1).toString(16)}`);
    expect(await attempt(KNOWN, 'guess 10', '2001:db8:1:2:ffff::1')).toMatchObject({ reason: 'throttled' });
    expect(await attempt(KNOWN, 'guess 11', '2001:db8:1:3::1')).toMatchObject({ reason: 'wrong-password' });
  });

  it('answers 64 identical simultaneous logins from one IP with one hash, every one of them a success', async () => {
    const phone = await core.admin.addDevice(KNOWN, { name: 'iPhone' }, 'test');
    const before = hashes();
    const results = await Promise.all(Array.from({ length: 64 }, () => attempt(KNOWN, phone.password, OWNER_HOME)));
    expect(results.filter((r) => r.ok)).toHaveLength(64);
    expect(hashes() - before).toBe(1);
    core.recorder.flush();
    const ok = (await core.admin.events(KNOWN, 10)).find((e) => e.type === 'login.ok');
    expect(ok).toMatchObject({ count: 64 }); // each attempt is still recorded
  });

  it('answers an imported generic password after one hash and re-stores it as a digest afterwards', async () => {
    const address = 'imported@example.org';
    await core.admin.importGeneric(address, MIGRATED.hash, 'test');
    const before = hashes();
    const result = await attempt(address, MIGRATED.password, OWNER_HOME);
    expect(result).toMatchObject({ ok: true, generic: true });
    expect(hashes() - before).toBe(1);
    await core.authenticator.upgradesSettled();
    const row = core.store.findAddress(address)!;
    expect(core.store.pendingLegacy(row.id)).toHaveLength(0);
    // the next cold attempt finds it by digest
    core.cache.forget(core.cache.key(address, MIGRATED.password));
    expect(await attempt(address, MIGRATED.password, OWNER_HOME)).toMatchObject({ ok: true, generic: true, cached: false });
  });

  it('holds a cold failure on an unknown address as long as one on an address with a slow imported generic', async () => {
    // the generic is argon2id at 64 MiB and t=3; the digest here is 1 MiB, t=1: two orders of magnitude apart
    await core.admin.importGeneric(KNOWN, ARGON2ID_GENERIC.hash, 'test');
    const timed = async (address: string, password: string) => {
      const start = performance.now();
      await attempt(address, password, OWNER_HOME, { trusted: true });
      return performance.now() - start;
    };
    const slow = await timed(KNOWN, 'not the generic password 1');
    const unknown = [];
    for (let i = 0; i < 3; i++) unknown.push(await timed(UNKNOWN, `a password for nobody ${i}`));
    expect(Math.min(...unknown)).toBeGreaterThanOrEqual(slow * 0.9);
  });
});
