import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CredentialAdmin } from '../../../src/credentials/admin.js';
import { DevicepassError } from '../../../src/errors/catalogue.js';
import { hashToken, InvitationService } from '../../../src/invitations/service.js';
import { SessionRegistry } from '../../../src/sessions/registry.js';
import { InvitationStore } from '../../../src/store/invitations.js';
import { SqliteAdminStore, SqliteInvitationRecords } from '../../../src/store/sqlite-driver.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { tempDir } from '../../helpers/env.js';

const DAY = 86_400_000;
const ALICE = 'alice@example.com';
const PARAMS = { memoryKib: 1024, iterations: 1, parallelism: 1 };

describe('InvitationService', () => {
  let cleanup: () => void;
  let store: SqliteStore;
  let admin: CredentialAdmin;
  let service: InvitationService;
  let clock: number;

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    store = new SqliteStore(path.join(tmp.dir, 'devicepass.db'));
    clock = Date.now();
    admin = new CredentialAdmin(new SqliteAdminStore(store), new SessionRegistry(), PARAMS);
    service = new InvitationService({
      store: new SqliteAdminStore(store), invitations: new SqliteInvitationRecords(new InvitationStore(store.database, () => clock)), admin, publicUrl: 'https://mail.example.com/', now: () => clock,
    });
    await admin.addAddress(ALICE, 'test');
  });
  afterEach(() => {
    store.close();
    cleanup();
  });

  const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

  it('makes a link with a 256-bit token valid for 30 days, and stores only its hash', async () => {
    const made = await service.create(ALICE, { name: 'iPhone' }, 'cli:root');
    expect(made.url).toMatch(/^https:\/\/mail\.example\.com\/invite\/[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(tokenOf(made.url), 'base64url')).toHaveLength(32);
    expect(Date.parse(made.expires) - clock).toBe(30 * DAY);
    expect(made).toMatchObject({ state: 'open', name: 'iPhone', scopes: ['imap', 'smtp'], createdBy: 'cli:root', device: null });
    const rows = store.database.prepare('SELECT * FROM invitation').all() as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(tokenOf(made.url));
    expect(Buffer.compare(rows[0]!.token_hash as Buffer, hashToken(tokenOf(made.url)))).toBe(0);
    const events = store.events(ALICE, 10).map((e) => e.type);
    expect(events).toContain('invite.create');
    expect(JSON.stringify(store.events(null, 100))).not.toContain(tokenOf(made.url));
  });

  it('refuses bad options before any link exists', async () => {
    await expect(service.create(ALICE, { scopes: 'imap,ftp' }, 'x')).rejects.toThrow(expect.objectContaining({ code: 'SCOPES_INVALID' }));
    await expect(service.create(ALICE, { expires: 'yesterday' }, 'x')).rejects.toThrow(expect.objectContaining({ code: 'EXPIRES_INVALID' }));
    await expect(service.create(ALICE, { days: '0' }, 'x')).rejects.toThrow(expect.objectContaining({ code: 'REQUEST_INVALID' }));
    await expect(service.create('bob@example.com', {}, 'x')).rejects.toThrow(expect.objectContaining({ code: 'ADDRESS_UNKNOWN' }));
    expect(await service.list(ALICE)).toEqual([]);
  });

  it('makes exactly one device of a link, even when it is submitted twice at once, and records where from', async () => {
    const token = tokenOf((await service.create(ALICE, { name: 'iPad', scopes: 'imap,smtp,pop3', expires: '7d' }, 'cli:root')).url);
    const results = await Promise.allSettled([
      service.redeem(token, { name: 'iPad', ip: '192.0.2.7' }),
      service.redeem(token, { name: 'iPad again', ip: '192.0.2.8' }),
    ]);
    const made = results.filter((r) => r.status === 'fulfilled');
    expect(made).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(DevicepassError);
    expect((refused.reason as DevicepassError).code).toBe('INVITE_CLOSED');
    const { device } = (made[0] as PromiseFulfilledResult<Awaited<ReturnType<InvitationService['redeem']>>>).value;
    expect(device).toMatchObject({ name: 'iPad', scopes: ['imap', 'smtp', 'pop3'], createdBy: expect.stringMatching(/^invite:\d+$/) });
    expect(Date.parse(device.expires!) - clock).toBeGreaterThan(7 * DAY - 5000);
    expect(await admin.listDevices(ALICE)).toHaveLength(1);
    expect((await service.list(ALICE))[0]).toMatchObject({ state: 'used', device: device.id, usedFrom: '192.0.2.7' });
    expect((await service.lookup(token)).status).toBe('used');
    const use = store.events(ALICE, 20).find((e) => e.type === 'invite.use')!;
    expect(use).toMatchObject({ ip: '192.0.2.7', deviceId: Number(device.id), deviceName: 'iPad' });
    expect(use.detail).toMatchObject({ invitedBy: 'cli:root' });
  });

  it('gives the link back when the chosen password is refused', async () => {
    const token = tokenOf((await service.create(ALICE, {}, 'x')).url);
    await expect(service.redeem(token, { name: 'Mac', password: 'short', ip: '192.0.2.1' })).rejects.toMatchObject({ code: 'PASSWORD_WEAK' });
    await expect(service.redeem(token, { name: '', ip: '192.0.2.1' })).rejects.toMatchObject({ code: 'NAME_INVALID' });
    expect((await service.lookup(token)).status).toBe('open');
    const { device } = await service.redeem(token, { name: 'Mac', password: 'a chosen password of mine', ip: '192.0.2.1' });
    expect(device.password).toBe('a chosen password of mine');
  });

  it('tells expired, revoked and unknown links apart, and refuses to redeem them', async () => {
    const expiring = tokenOf((await service.create(ALICE, { days: 1 }, 'x')).url);
    const revoked = await service.create(ALICE, {}, 'x');
    expect((await service.revoke(ALICE, revoked.id, 'cli:root')).state).toBe('revoked');
    await expect(service.revoke(ALICE, revoked.id, 'cli:root')).rejects.toThrow(expect.objectContaining({ code: 'INVITE_CLOSED' }));
    await expect(service.revoke(ALICE, '999', 'cli:root')).rejects.toThrow(expect.objectContaining({ code: 'INVITE_UNKNOWN' }));
    clock += DAY;
    expect((await service.lookup(expiring)).status).toBe('expired');
    expect((await service.lookup(tokenOf(revoked.url))).status).toBe('revoked');
    expect((await service.lookup('A'.repeat(43))).status).toBe('unknown');
    expect((await service.lookup('../../etc')).status).toBe('unknown');
    await expect(service.redeem(expiring, { name: 'x', ip: '192.0.2.1' })).rejects.toMatchObject({ code: 'INVITE_CLOSED' });
    expect(await admin.listDevices(ALICE)).toEqual([]);
  });

  it('voids open links when all devices are revoked, and drops them with the address', async () => {
    const first = await service.create(ALICE, {}, 'x');
    await service.create(ALICE, {}, 'x');
    expect(await service.revokeOpen(ALICE, 'cli:root', 'devices-revoked')).toBe(2);
    expect((await service.lookup(tokenOf(first.url))).status).toBe('revoked');
    const later = await service.create(ALICE, {}, 'x');
    await admin.removeAddress(ALICE, true, 'cli:root');
    expect((await service.lookup(tokenOf(later.url))).status).toBe('unknown');
  });
});
