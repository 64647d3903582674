import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/store/migrations.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { tempDir } from '../../helpers/env.js';

const DAY = 86_400_000;

describe('SqliteStore', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;
  let store: SqliteStore;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    file = path.join(dir, 'devicepass.db');
    store = new SqliteStore(file);
  });
  afterEach(() => {
    store.close();
    cleanup();
  });

  const device = (addressId: number, name: string) =>
    store.addDevice({ addressId, name, user: null, scopes: ['imap'], expiresAt: null, digest: randomBytes(32), params: 'm=1024,t=1,p=1', actor: 'test' });

  it('opens in WAL mode with foreign keys, at the latest schema, and reopens without re-migrating', () => {
    expect(store.database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.database.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const a = store.addAddress('a@example.com', randomBytes(16), 'test');
    store.close();
    store = new SqliteStore(file);
    expect(store.findAddress('a@example.com')).toMatchObject({ id: a.id, generation: 1 });
  });

  it('refuses a database from a newer devicepass', () => {
    store.database.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    store.close();
    expect(() => new SqliteStore(file)).toThrow(/newer/);
    store = new SqliteStore(':memory:');
  });

  it('bumps the generation on every credential change, and journals what cuts sessions', () => {
    const a = store.addAddress('a@example.com', randomBytes(16), 'test');
    const d = device(a.id, 'Phone');
    expect(store.findAddress('a@example.com')!.generation).toBe(2);
    store.renameDevice(a.id, d.id, 'Phone 2', 'test');
    store.resetDevice(a.id, d.id, randomBytes(32), 'm=1024,t=1,p=1', 'test');
    store.revokeDevice(a.id, d.id, 'test');
    expect(store.findAddress('a@example.com')!.generation).toBe(4);
    expect(store.revocationsSince(0).map((r) => [r.deviceId, r.reason])).toEqual([[d.id, 'device-reset'], [d.id, 'device-revoked']]);
    expect(store.lastRevocationSeq()).toBe(store.revocationsSince(0).at(-1)!.seq);
  });

  it('removing an address cascades to its devices and credentials but keeps its audit trail', () => {
    const a = store.addAddress('a@example.com', randomBytes(16), 'test');
    device(a.id, 'Phone');
    store.removeAddress(a.id, 'test');
    expect(store.database.prepare('SELECT count(*) AS n FROM credential').get()).toEqual({ n: 0 });
    expect(store.database.prepare('SELECT count(*) AS n FROM device').get()).toEqual({ n: 0 });
    expect(store.events('a@example.com', 10).map((e) => e.type)).toEqual(['address.add', 'device.add', 'address.remove']);
  });

  it('never reuses an id after a delete', () => {
    const a = store.addAddress('a@example.com', randomBytes(16), 'test');
    const first = device(a.id, 'Phone');
    store.removeAddress(a.id, 'test');
    const b = store.addAddress('a@example.com', randomBytes(16), 'test');
    const second = device(b.id, 'Phone');
    expect(b.id).toBeGreaterThan(a.id);
    expect(second.id).toBeGreaterThan(first.id);
  });

  it('purges tombstones and events past their retention, keeping a revoked generic as the marker', () => {
    const a = store.addAddress('a@example.com', randomBytes(16), 'test');
    const d = device(a.id, 'Phone');
    store.revokeDevice(a.id, d.id, 'test');
    store.importGeneric('a@example.com', randomBytes(16), 'PLAIN', 'secret', 'test');
    const generic = store.genericDevice(a.id)!;
    store.revokeDevice(a.id, generic.id, 'test');
    const now = Date.now();
    expect(store.purge(now, 30 * DAY, 90 * DAY)).toEqual({ tombstones: 0, events: 0 });
    const later = now + 31 * DAY;
    expect(store.purge(later, 30 * DAY, 90 * DAY).tombstones).toBe(2);
    expect(store.listDevices(a.id).map((x) => [x.name, x.state])).toEqual([['generic', 'revoked']]);
    expect(store.importGeneric('a@example.com', randomBytes(16), 'PLAIN', 'secret', 'test')).toBe('revoked');
    expect(store.purge(now + 91 * DAY, 30 * DAY, 90 * DAY).events).toBeGreaterThan(0);
  });

  it('writes batched login records and keeps the latest last use', () => {
    const a = store.addAddress('a@example.com', randomBytes(16), 'test');
    const d = device(a.id, 'Phone');
    store.recordUsage([{ deviceId: d.id, use: { at: 2000, protocol: 'smtp', ip: '192.0.2.1', client: 'new' } }]);
    store.recordUsage([{ deviceId: d.id, use: { at: 1000, protocol: 'imap', ip: '192.0.2.9', client: 'stale' } }]);
    expect(store.device(a.id, d.id)!.lastUse).toEqual({ at: 2000, protocol: 'smtp', ip: '192.0.2.1', client: 'new' });
    const now = Date.now();
    store.appendEvents([{ at: now, lastAt: now + 4, count: 3, type: 'login.fail', address: 'a@example.com', reason: 'wrong-password' }]);
    expect(store.events('a@example.com', 1)[0]).toMatchObject({ count: 3, reason: 'wrong-password', at: now, lastAt: now + 4 });
  });

  it('caps the event table: past event_max_rows the oldest login records go first, administrative events stay', () => {
    store.close();
    store = new SqliteStore(file, { maxEvents: 1000 });
    store.addAddress('a@example.com', randomBytes(16), 'test');
    const at = Date.now();
    for (let batch = 0; batch < 30; batch++) {
      store.appendEvents(Array.from({ length: 100 }, (_, i) => ({
        at: at + batch * 100 + i, type: 'login.ok', address: 'a@example.com', ip: `192.0.2.${i}`, protocol: 'imap',
      })));
    }
    const count = (store.database.prepare('SELECT count(*) FROM event').pluck().get() as number);
    expect(count).toBeLessThanOrEqual(1001);
    expect(count).toBeGreaterThanOrEqual(900);
    const events = store.events('a@example.com', 5000);
    expect(events[0]!.type).toBe('address.add');
    // the newest survived, the oldest went
    expect(events.at(-1)!.at).toBe(at + 2999);
    expect(events[1]!.at).toBeGreaterThan(at + 1000);
  });
});
