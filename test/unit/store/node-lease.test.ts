import type pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/log/logger.js';
import { NodeLease } from '../../../src/store/postgres/cluster.js';
import type { PgJournalFeed } from '../../../src/store/postgres/journal-feed.js';
import type { PgPool } from '../../../src/store/postgres/pool.js';

const log = createLogger('silent');

/**
 * The journal feed as NodeLease uses it, with renewals this test answers
 * when it chooses: a renewal slow enough to outlive the lease it extends.
 */
class FakeFeed {
  connected = true;
  appliedSeq = 0;
  readonly #pending: Array<() => void> = [];
  hold = false;
  onApplied(_listener: (seq: number) => void): void {}
  onConnectionChange(_listener: (up: boolean) => void): void {}
  onGap(_listener: () => void): void {}
  async catchUp(): Promise<void> {}
  caughtUp(_statement: (seq: number) => pg.QueryConfig): Promise<pg.QueryResult> {
    const answer = { rows: [], rowCount: 1 } as unknown as pg.QueryResult;
    if (!this.hold) return Promise.resolve(answer);
    return new Promise((resolve) => this.#pending.push(() => resolve(answer)));
  }
  answerAll(): void {
    for (const answer of this.#pending.splice(0)) answer();
  }
}

const fakePool = { query: async () => ({ rows: [], rowCount: 0 }) };

describe('NodeLease', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a renewal answered after the lease it was meant to extend ran out lapses the lease first: the mirror goes even though no one asked in between', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
    const feed = new FakeFeed();
    // the fakes stand in for the two classes NodeLease talks to; only the members it calls exist
    const lease = new NodeLease(fakePool as unknown as PgPool, feed as unknown as PgJournalFeed, 1000, log);
    let lapses = 0;
    lease.onLapse(() => lapses++);
    await lease.start();
    // held until 800 ms (80 % of the lease, counted from when the first renewal left)
    expect(lease.held()).toBe(true);

    feed.hold = true;
    // the renewal sent at 250 ms gets no answer; the ticks at 500 and 750 ms find the lease still held
    await vi.advanceTimersByTimeAsync(750);
    expect(lapses).toBe(0);
    // 850 ms: the lease ran out at 800, and the next tick (1000 ms) has not come: nothing looked
    vi.advanceTimersByTime(100);
    feed.answerAll();
    await vi.advanceTimersByTimeAsync(0);
    // the lapse is found before the late renewal extends anything: what was trusted under the old lease is gone
    expect(lapses).toBe(1);
    // and the late renewal then counts as a lease of its own
    expect(lease.held()).toBe(true);
    await lease.stop();
  });
});
