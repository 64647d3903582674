import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore } from '../../../src/daemon.js';
import { silentLogger } from '../../../src/log/logger.js';
import { tempDir, testConfig } from '../../helpers/env.js';

type Core = ReturnType<typeof createCore>;
const ADDRESS = 'alice@example.com';

/**
 * Attempts that cost no hash (malformed, cached misses) must not cost a
 * disk row each: failures are aggregated per address, reason and window,
 * with a capped list of client networks, whatever IPs and addresses the
 * attacker uses.
 */
describe('a bounded audit log', () => {
  let core: Core;
  let cleanup: () => void;

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    core = createCore(testConfig(tmp.dir, { auth: { failure_delay: 0, failure_delay_max: 0, audit_window: '1h' } }), silentLogger);
    await core.admin.addAddress(ADDRESS, 'test');
  });
  afterEach(() => {
    core.store.close();
    cleanup();
  });

  const attempt = (password: string, clientIp: string, address = ADDRESS) =>
    core.authenticator.authenticate({ address, password, protocol: 'imap', clientIp, trusted: false, clientName: 'bot' });
  const loginRows = () =>
    core.store.database.prepare(`SELECT count(*) AS n, coalesce(sum(count), 0) AS attempts FROM event WHERE type = 'login.fail'`).get() as {
      n: number; attempts: number;
    };
  const ip = (i: number) => `198.51.${(i >> 8) & 255}.${i & 255}`;

  it('a repeated wrong password from 2,000 client IPs is one row with a count and at most 8 networks', async () => {
    expect(await attempt('not the password at all', ip(0))).toMatchObject({ reason: 'wrong-password', cached: false });
    for (let i = 1; i < 2000; i++) {
      expect(await attempt('not the password at all', ip(i))).toMatchObject({ reason: 'wrong-password', cached: true });
      // several flush intervals inside the window: a later batch updates the row, never adds one
      if (i % 500 === 0) core.recorder.flush();
    }
    core.recorder.flush();
    expect(loginRows()).toEqual({ n: 1, attempts: 2000 });
    const [row] = (await core.admin.events(ADDRESS, 10)).filter((e) => e.type === 'login.fail');
    expect(row).toMatchObject({ address: ADDRESS, reason: 'wrong-password', count: 2000 });
    expect(row!.detail!.networks).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map(ip));
    expect(row!.detail!.moreNetworks).toBe(true);
    expect(row!.lastAt).toBeGreaterThanOrEqual(row!.at);
  });

  it('malformed attempts with 3,000 different garbage addresses and IPs cost a handful of rows', async () => {
    for (let i = 0; i < 3000; i++) {
      expect(await attempt('x', ip(i), `garbage-${i}-no-at-sign`)).toMatchObject({ reason: 'malformed' });
    }
    core.recorder.flush();
    const rows = loginRows();
    expect(rows.attempts).toBe(3000);
    expect(rows.n).toBeLessThanOrEqual(2);
  });

  it('hash-free failures over many valid but different addresses fold into one row per reason past the cap', async () => {
    for (let i = 0; i < 3000; i++) {
      // an empty password is refused before any hash
      expect(await attempt('', ip(i), `user${i}@example.org`)).toMatchObject({ reason: 'malformed' });
    }
    core.recorder.flush();
    const rows = loginRows();
    expect(rows.attempts).toBe(3000);
    expect(rows.n).toBeLessThanOrEqual(1001);
  });

  it('two processes writing the same aggregate share its row: counts add, networks merge', async () => {
    const other = createCore(testConfig(core.store.database.name.replace(/\/[^/]+$/, ''), { auth: { failure_delay: 0, failure_delay_max: 0, audit_window: '1h' } }), silentLogger);
    try {
      await attempt('', '192.0.2.1');
      await other.authenticator.authenticate({ address: ADDRESS, password: '', protocol: 'smtp', clientIp: '2001:db8:1:2::99', trusted: false });
      core.recorder.flush();
      other.recorder.flush();
      const fails = (await core.admin.events(ADDRESS, 10)).filter((e) => e.type === 'login.fail');
      expect(fails).toHaveLength(1);
      expect(fails[0]).toMatchObject({ count: 2, reason: 'malformed' });
      expect(fails[0]!.detail!.networks).toEqual(['192.0.2.1', '2001:db8:1:2::/64']);
    } finally {
      other.store.close();
    }
  });
});
