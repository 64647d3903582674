import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/log/logger.js';
import { ExpiryWatcher } from '../../../src/sessions/expiry-watcher.js';
import { SessionRegistry } from '../../../src/sessions/registry.js';

const info = (deviceId: number) => ({
  address: 'a@example.com', deviceId, deviceName: `d${deviceId}`, protocol: 'imap' as const, clientIp: '127.0.0.1', clientName: null, since: 0,
});

describe('ExpiryWatcher', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  function setup(expiries: Map<number, number | null>) {
    const registry = new SessionRegistry();
    const watcher = new ExpiryWatcher({ deviceExpiry: (id) => expiries.get(id) }, registry, silentLogger);
    const closed: Array<[number, string]> = [];
    const open = (id: number) => registry.register(info(id), (reason) => closed.push([id, reason]));
    return { registry, watcher, closed, open };
  }

  it('closes the sessions of a device when its expiry passes, and only then', () => {
    const { closed, open, watcher } = setup(new Map([[1, Date.now() + 5000], [2, null]]));
    open(1);
    open(1);
    open(2);
    expect(watcher.watching).toBe(1);
    vi.advanceTimersByTime(4999);
    expect(closed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(closed).toEqual([[1, 'device-expired'], [1, 'device-expired']]);
    expect(watcher.watching).toBe(0);
  });

  it('an expiry moved later while the timer runs does not cut; the new time does', () => {
    const expiries = new Map<number, number | null>([[1, Date.now() + 1000]]);
    const { closed, open } = setup(expiries);
    open(1);
    expiries.set(1, Date.now() + 3000);
    vi.advanceTimersByTime(1000);
    expect(closed).toEqual([]);
    vi.advanceTimersByTime(2000);
    expect(closed).toEqual([[1, 'device-expired']]);
  });

  it('an expiry moved earlier is picked up by refresh', () => {
    const expiries = new Map<number, number | null>([[1, Date.now() + 3_600_000]]);
    const { closed, open, watcher } = setup(expiries);
    open(1);
    expiries.set(1, Date.now() + 500);
    watcher.refresh();
    vi.advanceTimersByTime(500);
    expect(closed).toEqual([[1, 'device-expired']]);
  });

  it('a device whose last session ends drops its timer; an expiry beyond setTimeout range is rescheduled, not fired early', () => {
    const expiries = new Map<number, number | null>([[1, Date.now() + 1000], [2, Date.now() + 40 * 86_400_000]]);
    const { closed, open, watcher } = setup(expiries);
    const end = open(1);
    open(2);
    end();
    expect(watcher.watching).toBe(1);
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(closed).toEqual([]);
    vi.advanceTimersByTime(10 * 86_400_000);
    expect(closed).toEqual([[2, 'device-expired']]);
  });
});
