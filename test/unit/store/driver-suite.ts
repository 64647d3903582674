/**
 * One behaviour suite for every store driver, written against StoreDriver
 * alone: driver-sqlite.test.ts and driver-postgres.test.ts run it, each with
 * a fresh store per test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JournalEntry, StoreDriver } from '../../../src/store/driver.js';
import type { AuditEvent } from '../../../src/store/types.js';

const DAY = 86_400_000;
const PARAMS = 'm=1024,t=1,p=1';

/** Waits until CHECK holds (the feed delivers asynchronously); fails with what it last saw. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function describeDriver(name: string, open: () => Promise<StoreDriver>): void {
  describe(`store driver: ${name}`, () => {
    let driver: StoreDriver;

    beforeEach(async () => {
      driver = await open();
    });
    afterEach(async () => {
      await driver.close();
    });

    const salt = () => randomBytes(16);
    const addDevice = (addressId: number, deviceName: string, digest: Buffer = randomBytes(32), expiresAt: number | null = null) =>
      driver.admin.addDevice({ addressId, name: deviceName, user: null, scopes: ['imap', 'smtp'], expiresAt, digest, params: PARAMS, actor: 'test' });

    it('keeps addresses and devices through their lifecycle, and an audit trail after removal', async () => {
      const a = await driver.admin.addAddress('a@example.com', salt(), 'test');
      expect(a).toMatchObject({ address: 'a@example.com', generation: 1 });
      expect(await driver.admin.findAddress('a@example.com')).toEqual(a);
      expect(await driver.reads.findAddress('a@example.com')).toEqual(a);
      expect(await driver.reads.findAddress('nobody@example.com')).toBeUndefined();

      const expires = Date.now() + DAY;
      const phone = await addDevice(a.id, 'Phone', randomBytes(32), expires);
      expect(phone).toMatchObject({ addressId: a.id, kind: 'device', name: 'Phone', user: null, scopes: ['imap', 'smtp'], state: 'active',
        createdBy: 'test', expiresAt: expires, revokedAt: null, lastUse: null });
      const laptop = await addDevice(a.id, 'Laptop');
      expect(laptop.id).toBeGreaterThan(phone.id);
      await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'secret', 'test');

      expect((await driver.admin.listDevices(a.id)).map((d) => [d.kind, d.name])).toEqual([['generic', 'generic'], ['device', 'Phone'], ['device', 'Laptop']]);
      expect(await driver.admin.device(a.id, phone.id)).toEqual(phone);
      expect(await driver.admin.device(a.id + 1000, phone.id)).toBeUndefined();
      expect((await driver.admin.genericDevice(a.id))!.kind).toBe('generic');
      expect(await driver.admin.deviceExpiry(phone.id)).toBe(expires);
      expect(await driver.admin.deviceExpiry(laptop.id)).toBeNull();
      expect(await driver.admin.deviceExpiry(laptop.id + 1000)).toBeUndefined();

      await driver.admin.addAddress('b@example.com', salt(), 'test');
      expect((await driver.admin.listAddresses()).map((r) => [r.address, r.devices, r.generic])).toEqual([
        ['a@example.com', 2, true], ['b@example.com', 0, false],
      ]);

      await driver.admin.renameDevice(a.id, phone.id, 'Phone 2', 'test');
      expect((await driver.admin.device(a.id, phone.id))!.name).toBe('Phone 2');

      await driver.admin.removeAddress(a.id, 'test');
      expect(await driver.admin.findAddress('a@example.com')).toBeUndefined();
      expect(await driver.admin.listDevices(a.id)).toEqual([]);
      expect((await driver.admin.events('a@example.com', 10)).map((e) => e.type)).toEqual([
        'address.add', 'device.add', 'device.add', 'generic.import', 'device.rename', 'address.remove',
      ]);
      const rename = (await driver.admin.events('a@example.com', 10)).find((e) => e.type === 'device.rename')!;
      expect(rename).toMatchObject({ deviceId: phone.id, deviceName: 'Phone 2', actor: 'test', detail: { from: 'Phone' } });

      // ids are never reused after a delete: a cached proof names a credential id
      const again = await driver.admin.addAddress('a@example.com', salt(), 'test');
      expect(again.id).toBeGreaterThan(a.id);
      expect((await addDevice(again.id, 'Phone')).id).toBeGreaterThan(laptop.id);
    });

    it('bumps the generation on every credential change', async () => {
      const a = await driver.admin.addAddress('a@example.com', salt(), 'test');
      const d = await addDevice(a.id, 'Phone');
      expect(await driver.reads.addressGeneration(a.id)).toBe(2);
      await driver.admin.renameDevice(a.id, d.id, 'Phone 2', 'test');
      await driver.admin.resetDevice(a.id, d.id, randomBytes(32), PARAMS, 'test');
      expect(await driver.reads.addressGeneration(a.id)).toBe(3);
      await driver.admin.revokeDevice(a.id, d.id, 'test');
      expect((await driver.admin.findAddress('a@example.com'))!.generation).toBe(4);
      await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'one', 'test');
      await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'one', 'test'); // unchanged: no bump
      expect(await driver.reads.addressGeneration(a.id)).toBe(5);
      await driver.admin.revokeAll(a.id, true, 'test');
      expect(await driver.reads.addressGeneration(a.id)).toBe(6);
      expect(await driver.reads.addressGeneration(a.id + 1000)).toBeUndefined();
    });

    it('finds a credential by digest, the active row winning over a tombstone with the same digest', async () => {
      const a = await driver.admin.addAddress('a@example.com', salt(), 'test');
      const digest = randomBytes(32);
      const first = await addDevice(a.id, 'Phone', digest);
      const found = (await driver.reads.credentialByDigest(a.id, digest))!;
      expect(found).toMatchObject({ state: 'active', retiredAt: null, addressId: a.id, deviceId: first.id, deviceKind: 'device',
        deviceName: 'Phone', deviceState: 'active', scopes: ['imap', 'smtp'], expiresAt: null });
      expect(await driver.reads.credentialById(found.id)).toEqual(found);
      expect(await driver.admin.activeDigestOwner(a.id, digest)).toBe('Phone');

      await driver.admin.revokeDevice(a.id, first.id, 'test');
      const revoked = (await driver.reads.credentialByDigest(a.id, digest))!;
      expect(revoked).toMatchObject({ id: found.id, state: 'revoked', deviceState: 'revoked' });
      expect(revoked.retiredAt).toEqual(expect.any(Number));
      expect(await driver.admin.activeDigestOwner(a.id, digest)).toBeUndefined();

      const second = await addDevice(a.id, 'Tablet', digest);
      expect(await driver.reads.credentialByDigest(a.id, digest)).toMatchObject({ state: 'active', deviceId: second.id, deviceName: 'Tablet' });
      expect(await driver.admin.activeDigestOwner(a.id, digest)).toBe('Tablet');
      expect(await driver.reads.credentialByDigest(a.id, randomBytes(32))).toBeUndefined();
      expect(await driver.reads.digestParamSets(a.id)).toEqual([PARAMS]);
    });

    it('a reset leaves the old password as a reset-away row and makes the new one active', async () => {
      const a = await driver.admin.addAddress('a@example.com', salt(), 'test');
      const oldDigest = randomBytes(32);
      const newDigest = randomBytes(32);
      const d = await addDevice(a.id, 'Phone', oldDigest);
      await driver.admin.resetDevice(a.id, d.id, newDigest, PARAMS, 'admin');
      const old = (await driver.reads.credentialByDigest(a.id, oldDigest))!;
      expect(old).toMatchObject({ state: 'reset-away', deviceId: d.id, deviceState: 'active' });
      expect(old.retiredAt).toEqual(expect.any(Number));
      expect(await driver.reads.credentialByDigest(a.id, newDigest)).toMatchObject({ state: 'active', deviceId: d.id });
      expect((await driver.admin.events('a@example.com', 1))[0]).toMatchObject({ type: 'device.reset', deviceId: d.id, deviceName: 'Phone', actor: 'admin' });
    });

    it('revokes one device, then all devices with or without the generic', async () => {
      const a = await driver.admin.addAddress('a@example.com', salt(), 'test');
      const phone = await addDevice(a.id, 'Phone');
      const laptop = await addDevice(a.id, 'Laptop');
      const tablet = await addDevice(a.id, 'Tablet');
      await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'secret', 'test');
      await driver.admin.revokeDevice(a.id, phone.id, 'test');
      const revokedPhone = (await driver.admin.device(a.id, phone.id))!;
      expect(revokedPhone.state).toBe('revoked');
      expect(revokedPhone.revokedAt).toEqual(expect.any(Number));

      expect(await driver.admin.revokeAll(a.id, false, 'test')).toBe(2);
      const states = async () => Object.fromEntries((await driver.admin.listDevices(a.id)).map((d) => [d.name, d.state]));
      expect(await states()).toEqual({ generic: 'active', Phone: 'revoked', Laptop: 'revoked', Tablet: 'revoked' });
      const all = (await driver.admin.events('a@example.com', 1))[0]!;
      expect(all).toMatchObject({ type: 'device.revoke-all', detail: { devices: ['Laptop', 'Tablet'], includeGeneric: false } });
      expect([laptop.id, tablet.id]).not.toContain(phone.id);

      expect(await driver.admin.revokeAll(a.id, true, 'test')).toBe(1);
      expect((await states()).generic).toBe('revoked');
      expect(await driver.admin.revokeAll(a.id, true, 'test')).toBe(0);
      expect((await driver.admin.listAddresses())[0]).toMatchObject({ devices: 0, generic: false });
    });

    it('imports generic passwords: imported, unchanged, replaced, and revoked for good', async () => {
      expect(await driver.admin.importGeneric('a@example.com', salt(), 'SHA512-CRYPT', '$6$one', 'test')).toBe('imported');
      const a = (await driver.admin.findAddress('a@example.com'))!;
      expect(a).toBeDefined();
      expect(await driver.admin.importGeneric('a@example.com', salt(), 'SHA512-CRYPT', '$6$one', 'test')).toBe('unchanged');
      expect(await driver.admin.importGeneric('a@example.com', salt(), 'SHA512-CRYPT', '$6$two', 'test')).toBe('replaced');
      expect(await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'three', 'test')).toBe('replaced');
      expect(await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'four', 'test')).toBe('replaced');
      // the active one first, then its tombstones, at most three
      expect((await driver.reads.pendingLegacy(a.id)).map((c) => c.hash)).toEqual(['four', 'three', '$6$two']);
      const generic = (await driver.admin.genericDevice(a.id))!;
      expect(generic).toMatchObject({ kind: 'generic', name: 'generic', scopes: ['imap', 'smtp', 'pop3'], state: 'active' });
      expect((await driver.admin.events('a@example.com', 10)).map((e) => [e.type, (e.detail as { outcome?: string } | null)?.outcome ?? null])).toEqual([
        ['address.add', null], ['generic.import', 'imported'], ['generic.import', 'replaced'], ['generic.import', 'replaced'], ['generic.import', 'replaced'],
      ]);

      // a login re-stores the generic as a digest: it is then found by digest and no longer pending
      const [active] = await driver.reads.pendingLegacy(a.id);
      const digest = randomBytes(32);
      await driver.reads.upgradeLegacy(active!.id, digest, PARAMS);
      expect(await driver.reads.credentialByDigest(a.id, digest)).toMatchObject({ id: active!.id, state: 'active', deviceKind: 'generic' });
      expect((await driver.reads.pendingLegacy(a.id)).map((c) => c.hash)).toEqual(['three', '$6$two', '$6$one']);

      await driver.admin.revokeDevice(a.id, generic.id, 'test');
      expect(await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'five', 'test')).toBe('revoked');
      expect((await driver.admin.genericDevice(a.id))!.state).toBe('revoked');
    });

    it('delivers journal entries through the feed, in order, saying which ones cut sessions', async () => {
      const entries: JournalEntry[] = [];
      driver.feed.onEntry((entry) => entries.push(entry));
      await driver.feed.start();
      const a = await driver.admin.addAddress('a@example.com', salt(), 'test');
      const phone = await addDevice(a.id, 'Phone');
      const laptop = await addDevice(a.id, 'Laptop');
      await driver.admin.renameDevice(a.id, laptop.id, 'Laptop 2', 'test');
      await driver.admin.resetDevice(a.id, phone.id, randomBytes(32), PARAMS, 'test');
      await driver.admin.revokeDevice(a.id, phone.id, 'test');
      await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'one', 'test');
      const generic = (await driver.admin.genericDevice(a.id))!;
      await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'two', 'test');
      await driver.admin.revokeAll(a.id, false, 'test');
      await driver.admin.removeAddress(a.id, 'test');

      const cutting = () => entries.filter((e) => e.cuts).map((e) => [e.address, e.deviceId, e.reason]);
      await until(() => cutting().length >= 5, 'the cutting journal entries');
      expect(cutting()).toEqual([
        ['a@example.com', phone.id, 'device-reset'],
        ['a@example.com', phone.id, 'device-revoked'],
        ['a@example.com', generic.id, 'generic-replaced'],
        ['a@example.com', laptop.id, 'device-revoked'],
        ['a@example.com', null, 'address-removed'],
      ]);
      const seqs = entries.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
      await driver.feed.stop();
    });

    it('merges failure aggregates by window key: counts add, the window widens, networks merge first seen first, capped at 8', async () => {
      const now = Date.now();
      const base: AuditEvent = { at: now, type: 'login.fail', address: 'a@example.com', reason: 'wrong-password', protocol: 'imap' };
      const net = (i: number) => `198.51.100.${i}/32`;
      await driver.audit.appendEvents([{ ...base, at: now, lastAt: now + 100, count: 2, windowKey: 'w1', detail: { networks: [net(1), net(2)] } }]);
      await driver.audit.appendEvents([{ ...base, at: now - 50, lastAt: now + 300, count: 3, windowKey: 'w1', detail: { networks: [net(2), net(3)] } }]);
      let [row] = (await driver.admin.events('a@example.com', 10)).filter((e) => e.type === 'login.fail');
      expect(row).toMatchObject({ count: 5, at: now - 50, lastAt: now + 300, reason: 'wrong-password' });
      expect(row!.detail).toMatchObject({ networks: [net(1), net(2), net(3)], moreNetworks: false });

      await driver.audit.appendEvents([{ ...base, count: 1, windowKey: 'w1', detail: { networks: [4, 5, 6, 7, 8, 9, 10].map(net) } }]);
      [row] = (await driver.admin.events('a@example.com', 10)).filter((e) => e.type === 'login.fail');
      expect(row!.count).toBe(6);
      expect(row!.detail).toMatchObject({ networks: [1, 2, 3, 4, 5, 6, 7, 8].map(net), moreNetworks: true });

      // another window is another row; plain records are rows of their own, in the order given
      await driver.audit.appendEvents([
        { ...base, windowKey: 'w2', detail: { networks: [net(9)] } },
        { at: now + 1, type: 'login.ok', address: 'a@example.com', protocol: 'smtp', ip: '192.0.2.1', deviceId: 7, deviceName: 'Phone' },
        { at: now + 1, type: 'login.ok', address: 'a@example.com', protocol: 'pop3', ip: '192.0.2.2', client: 'x\u0000y' },
      ]);
      const events = await driver.admin.events('a@example.com', 10);
      expect(events.filter((e) => e.type === 'login.fail')).toHaveLength(2);
      expect(events.filter((e) => e.type === 'login.ok').map((e) => e.protocol)).toEqual(['smtp', 'pop3']);
      expect(events.find((e) => e.protocol === 'smtp')).toMatchObject({ deviceId: 7, deviceName: 'Phone', ip: '192.0.2.1', count: 1, lastAt: now + 1 });
      expect(driver.audit.shedding()).toBe(false);
    });

    it('keeps the latest last use, whatever order the updates arrive in', async () => {
      const a = await driver.admin.addAddress('a@example.com', salt(), 'test');
      const d = await addDevice(a.id, 'Phone');
      await driver.audit.recordUsage([{ deviceId: d.id, use: { at: 2000, protocol: 'smtp', ip: '192.0.2.1', client: 'new' } }]);
      await driver.audit.recordUsage([{ deviceId: d.id, use: { at: 1000, protocol: 'imap', ip: '192.0.2.9', client: 'stale' } }]);
      expect((await driver.admin.device(a.id, d.id))!.lastUse).toEqual({ at: 2000, protocol: 'smtp', ip: '192.0.2.1', client: 'new' });
      await driver.audit.recordUsage([
        { deviceId: d.id, use: { at: 4000, protocol: 'imap', ip: '192.0.2.4', client: null } },
        { deviceId: d.id, use: { at: 3000, protocol: 'pop3', ip: '192.0.2.3', client: null } },
      ]);
      expect((await driver.admin.device(a.id, d.id))!.lastUse).toEqual({ at: 4000, protocol: 'imap', ip: '192.0.2.4', client: null });
    });

    it('invitations: created, found by token hash, claimed only once under concurrency, released, completed, revoked', async () => {
      const a = await driver.admin.addAddress('a@example.com', salt(), 'test');
      const token = randomBytes(32);
      const tokenHash = createHash('sha256').update(token).digest();
      const expiresAt = Date.now() + DAY;
      const inv = await driver.invitations.create({
        addressId: a.id, tokenHash, name: 'Phone', user: null, scopes: ['imap'], deviceExpires: '7d', expiresAt, actor: 'admin',
      });
      expect(inv).toMatchObject({ addressId: a.id, address: 'a@example.com', name: 'Phone', scopes: ['imap'], deviceExpires: '7d',
        state: 'open', createdBy: 'admin', expiresAt, usedAt: null, deviceId: null });
      expect(await driver.invitations.byTokenHash(tokenHash)).toEqual(inv);
      expect(await driver.invitations.byTokenHash(randomBytes(32))).toBeUndefined();
      expect(await driver.invitations.byId(a.id, inv.id)).toEqual(inv);
      expect(await driver.invitations.byId(a.id + 1, inv.id)).toBeUndefined();

      const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => driver.invitations.claim(inv.id, `192.0.2.${i}`)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await driver.invitations.byId(a.id, inv.id))!.state).toBe('used');
      await driver.invitations.release(inv.id);
      expect((await driver.invitations.byId(a.id, inv.id))).toMatchObject({ state: 'open', usedAt: null, usedIp: null });
      expect(await driver.invitations.claim(inv.id, '192.0.2.50')).toBe(true);
      const d = await addDevice(a.id, 'Phone');
      await driver.invitations.completed(inv.id, d.id, 'Phone');
      expect(await driver.invitations.byId(a.id, inv.id)).toMatchObject({ state: 'used', usedIp: '192.0.2.50', deviceId: d.id });
      await driver.invitations.release(inv.id); // a completed claim is not given back
      expect((await driver.invitations.byId(a.id, inv.id))!.state).toBe('used');
      expect(await driver.invitations.revoke(a.id, inv.id, 'admin')).toBe(false);

      const expired = await driver.invitations.create({
        addressId: a.id, tokenHash: randomBytes(32), name: 'Old', user: null, scopes: ['imap'], deviceExpires: null, expiresAt: Date.now() - 1, actor: 'admin',
      });
      expect(await driver.invitations.claim(expired.id, '192.0.2.1')).toBe(false);
      const open1 = await driver.invitations.create({
        addressId: a.id, tokenHash: randomBytes(32), name: 'Tablet', user: 'bob', scopes: ['smtp'], deviceExpires: null, expiresAt, actor: 'admin',
      });
      expect(await driver.invitations.revoke(a.id, open1.id, 'admin')).toBe(true);
      expect(await driver.invitations.revoke(a.id, open1.id, 'admin')).toBe(false);
      expect(await driver.invitations.revokeOpen(a.id, 'admin', 'revoke-all')).toBe(1); // the expired one was still open
      expect((await driver.invitations.list(a.id)).map((i) => [i.name, i.state])).toEqual([['Phone', 'used'], ['Old', 'revoked'], ['Tablet', 'revoked']]);
      const types = (await driver.admin.events('a@example.com', 50)).map((e) => e.type).filter((t) => t.startsWith('invite.'));
      expect(types).toEqual(['invite.create', 'invite.use', 'invite.create', 'invite.create', 'invite.revoke', 'invite.revoke']);
      const use = (await driver.admin.events('a@example.com', 50)).find((e) => e.type === 'invite.use')!;
      expect(use).toMatchObject({ deviceId: d.id, ip: '192.0.2.50', actor: `invite:${inv.id}`, detail: { invitation: inv.id, invitedBy: 'admin' } });
    });

    it('purges tombstones and events past their retention, keeping a revoked generic as the marker', async () => {
      const a = await driver.admin.addAddress('a@example.com', salt(), 'test');
      const d = await addDevice(a.id, 'Phone');
      await driver.admin.revokeDevice(a.id, d.id, 'test');
      await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'secret', 'test');
      const generic = (await driver.admin.genericDevice(a.id))!;
      await driver.admin.revokeDevice(a.id, generic.id, 'test');
      const now = Date.now();
      expect(await driver.admin.purge(now, 30 * DAY, 90 * DAY)).toEqual({ tombstones: 0, events: 0 });
      expect((await driver.admin.purge(now + 31 * DAY, 30 * DAY, 90 * DAY)).tombstones).toBe(2);
      expect((await driver.admin.listDevices(a.id)).map((x) => [x.name, x.state])).toEqual([['generic', 'revoked']]);
      expect(await driver.admin.importGeneric('a@example.com', salt(), 'PLAIN', 'secret', 'test')).toBe('revoked');
      expect((await driver.admin.purge(now + 91 * DAY, 30 * DAY, 90 * DAY)).events).toBeGreaterThan(0);
      expect(await driver.admin.events('a@example.com', 10)).toEqual([]);
    });

    it('lists events oldest first, the limit keeping the newest, by time rather than by write order', async () => {
      await driver.admin.addAddress('a@example.com', salt(), 'test');
      await driver.admin.addAddress('b@example.com', salt(), 'test');
      const now = Date.now();
      // a login batch written after the change it precedes in time
      await driver.audit.appendEvents([{ at: now - 60_000, type: 'login.ok', address: 'a@example.com', protocol: 'imap' }]);
      const all = await driver.admin.events(null, 10);
      expect(all.map((e) => [e.type, e.address])).toEqual([['login.ok', 'a@example.com'], ['address.add', 'a@example.com'], ['address.add', 'b@example.com']]);
      expect((await driver.admin.events(null, 2)).map((e) => e.address)).toEqual(['a@example.com', 'b@example.com']);
      expect((await driver.admin.events('a@example.com', 1)).map((e) => e.type)).toEqual(['address.add']);
      expect(all.every((e, i) => i === 0 || e.at >= all[i - 1]!.at)).toBe(true);
    });

    it('a bulk import is one transaction: nothing is seen before commit, nothing is left after rollback', async () => {
      const existing = await driver.admin.addAddress('old@example.com', salt(), 'test');
      await driver.admin.importGeneric('old@example.com', salt(), 'PLAIN', 'same', 'test');
      await driver.admin.importGeneric('gone@example.com', salt(), 'PLAIN', 'x', 'test');
      const gone = (await driver.admin.findAddress('gone@example.com'))!;
      await driver.admin.revokeAll(gone.id, true, 'test');

      const rolled = await driver.admin.beginBulkImport();
      expect(await rolled.importGeneric('new@example.com', salt(), 'PLAIN', 'n', 'test')).toBe('imported');
      rolled.rollback();
      expect(await driver.admin.findAddress('new@example.com')).toBeUndefined();

      const bulk = await driver.admin.beginBulkImport();
      const outcomes: string[] = [];
      for (let i = 0; i < 50; i++) outcomes.push(await bulk.importGeneric(`user${i}@example.com`, salt(), 'PLAIN', `pw${i}`, 'import'));
      outcomes.push(await bulk.importGeneric('old@example.com', salt(), 'PLAIN', 'same', 'import'));
      outcomes.push(await bulk.importGeneric('gone@example.com', salt(), 'PLAIN', 'y', 'import'));
      outcomes.push(await bulk.importGeneric('user3@example.com', salt(), 'PLAIN', 'changed', 'import'));
      expect(outcomes.slice(0, 50).every((o) => o === 'imported')).toBe(true);
      expect(outcomes.slice(50)).toEqual(['unchanged', 'revoked', 'replaced']);
      expect(await driver.admin.findAddress('user0@example.com')).toBeUndefined();
      await bulk.commit();

      const addresses = await driver.admin.listAddresses();
      expect(addresses.filter((r) => r.address.startsWith('user')).every((r) => r.generic)).toBe(true);
      expect(addresses).toHaveLength(52);
      const user3 = (await driver.admin.findAddress('user3@example.com'))!;
      expect(user3.generation).toBe(3); // imported, then replaced
      expect((await driver.reads.pendingLegacy(user3.id)).map((c) => c.hash)).toEqual(['changed', 'pw3']);
      expect((await driver.admin.events('user3@example.com', 10)).map((e) => e.type)).toEqual(['address.add', 'generic.import', 'generic.import']);
      expect((await driver.admin.findAddress('old@example.com'))!.id).toBe(existing.id);
    });
  });
}
