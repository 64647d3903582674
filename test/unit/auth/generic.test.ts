import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore } from '../../../src/daemon.js';
import { silentLogger } from '../../../src/log/logger.js';
import { ROOT, tempDir, testConfig } from '../../helpers/env.js';

interface Fixture { scheme: string; hash: string; password: string }
const fixtures = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/legacy-hashes.json'), 'utf8')) as Fixture[];
const bySchemes = [...new Map(fixtures.map((f) => [f.scheme, f])).values()];

describe('generic legacy passwords through the Authenticator', () => {
  let core: ReturnType<typeof createCore>;
  let cleanup: () => void;
  beforeEach(() => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    core = createCore(testConfig(tmp.dir, { auth: { failure_delay: 0 } }), silentLogger);
  });
  afterEach(() => {
    core.store.close();
    cleanup();
  });
  const login = (address: string, password: string) =>
    core.authenticator.authenticate({ address, password, protocol: 'imap', clientIp: '198.51.100.1', trusted: false });

  it.each(bySchemes)('$scheme: right password logs in as "generic", a wrong one does not', async (fixture) => {
    const address = `user-${fixture.scheme.toLowerCase().replace(/[^a-z0-9]/g, '')}@example.org`;
    await core.admin.importGeneric(address, fixture.hash, 'test');
    expect(await login(address, `${fixture.password}x`)).toMatchObject({ ok: false, reason: 'wrong-password' });
    expect(await login(address, fixture.password)).toMatchObject({ ok: true, deviceName: 'generic', generic: true });
    // once verified it is found by digest: the next fresh attempt costs one argon2id, not the legacy scheme too
    core.cache.forget(core.cache.key(address, fixture.password));
    expect(await login(address, fixture.password)).toMatchObject({ ok: true, generic: true, cached: false });
  });

  it('[auth] generic_protocols refuses the generic password per protocol, cached or not, and leaves device passwords alone', async () => {
    const fixture = bySchemes[0]!;
    const address = 'migrating@example.org';
    await core.admin.importGeneric(address, fixture.hash, 'test');
    const device = await core.admin.addDevice(address, { name: 'phone', scopes: 'imap,smtp' }, 'test');
    const on = (protocol: 'imap' | 'smtp', password: string) =>
      core.authenticator.authenticate({ address, password, protocol, clientIp: '198.51.100.1', trusted: false });
    expect(await on('smtp', fixture.password)).toMatchObject({ ok: true, generic: true });
    // the end of the migration for SMTP: the proof just cached must not outlive the policy
    core.generic.protocols = ['imap'];
    expect(await on('smtp', fixture.password)).toMatchObject({ ok: false, reason: 'generic-refused', temporary: false, cached: true });
    core.cache.forget(core.cache.key(address, fixture.password));
    expect(await on('smtp', fixture.password)).toMatchObject({ ok: false, reason: 'generic-refused', cached: false });
    expect(await on('imap', fixture.password)).toMatchObject({ ok: true, generic: true });
    expect(await on('smtp', device.password)).toMatchObject({ ok: true, generic: false });
    core.generic.protocols = [];
    expect(await on('imap', fixture.password)).toMatchObject({ ok: false, reason: 'generic-refused' });
    expect(await on('imap', device.password)).toMatchObject({ ok: true });
  });

  it('is listed as device "generic", cannot be reset, and its revocation is final', async () => {
    const fixture = bySchemes[0]!;
    const address = 'legacy@example.org';
    await core.admin.importGeneric(address, fixture.hash, 'test');
    const [generic] = await core.admin.listDevices(address);
    expect(generic).toMatchObject({ id: 'generic', name: 'generic', kind: 'generic', state: 'active' });
    await expect(core.admin.resetDevice(address, 'generic', undefined, 'test')).rejects.toMatchObject({ code: 'GENERIC_NOT_RESETTABLE' });
    expect((await login(address, fixture.password)).ok).toBe(true);
    await core.admin.revokeDevice(address, 'generic', 'test');
    expect(await login(address, fixture.password)).toMatchObject({ ok: false, reason: 'revoked', deviceName: 'generic' });
    await expect(core.admin.importGeneric(address, fixture.hash, 'test')).rejects.toThrow(expect.objectContaining({ code: 'GENERIC_REVOKED' }));
  });

  it('keeps working beside device passwords, and revoke-all spares it unless asked', async () => {
    const fixture = bySchemes[0]!;
    const address = 'both@example.org';
    await core.admin.importGeneric(address, fixture.hash, 'test');
    const phone = await core.admin.addDevice(address, { name: 'Phone' }, 'test');
    expect((await login(address, phone.password)).ok).toBe(true);
    expect((await login(address, fixture.password)).ok).toBe(true);
    await core.admin.revokeAll(address, true, false, 'test');
    expect((await login(address, phone.password)).ok).toBe(false);
    expect((await login(address, fixture.password)).ok).toBe(true);
    await core.admin.revokeAll(address, true, true, 'test');
    expect((await login(address, fixture.password)).ok).toBe(false);
  });

  it('refuses an unknown or malformed hash at import', async () => {
    await expect(core.admin.importGeneric('x@example.org', '{NOPE}abc', 'test')).rejects.toThrow(expect.objectContaining({ code: 'HASH_INVALID' }));
    await expect(core.admin.importGeneric('x@example.org', '{SHA512-CRYPT}$6$short', 'test')).rejects.toThrow(expect.objectContaining({ code: 'HASH_INVALID' }));
    expect(core.store.findAddress('x@example.org')).toBeUndefined();
  });

  it('imports a passwd-file all or nothing, reporting bad lines by number', async () => {
    const good = readFileSync(path.join(ROOT, 'test/fixtures/passwd-file.sample'), 'utf8');
    const bad = readFileSync(path.join(ROOT, 'test/fixtures/passwd-file.bad'), 'utf8');
    let error: unknown;
    try {
      await core.admin.importPasswdFile(bad, 'test');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'IMPORT_INVALID' });
    expect((error as Error).message).toMatch(/line \d+/);
    expect(await core.admin.listAddresses()).toEqual([]);
    const result = await core.admin.importPasswdFile(good, 'test');
    expect(result.imported).toBeGreaterThan(0);
    expect((await core.admin.listAddresses()).every((a) => a.generic)).toBe(true);
    // re-running the same import changes nothing
    expect(await core.admin.importPasswdFile(good, 'test')).toMatchObject({ imported: 0, replaced: 0, unchanged: result.imported });
  });
});
