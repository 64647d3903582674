import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';

export interface FailureBudgetOptions {
  /** Longest a failure is held; work slower than this is not covered. */
  maxMs: number;
  /** A kind of verification not seen for this long stops counting. */
  kindTtlMs: number;
  /** Kinds remembered at most (least recently seen go first). */
  maxKinds: number;
  now?: () => number;
}

/** Weight of the newest sample in a kind's running average: smooths one slow run (a GC pause). */
const SMOOTHING = 0.2;

/**
 * Makes every cold failure take the same time, whatever the address is:
 * unknown, a wrong device password, an imported generic password under a
 * slower scheme, several parameter sets, refused by the throttle. Each kind
 * of verification (which hashes, which parameters) keeps a running average
 * of its work; the budget is the slowest kind's, and a failure is answered
 * no sooner than that long after its verification started. Successes are
 * never held. A kind is remembered for kindTtlMs after it was last seen, so
 * an address that is rarely tried stays covered.
 */
export class FailureBudget {
  readonly #o: Required<FailureBudgetOptions>;
  readonly #kinds: LRUCache<string, { averageMs: number }>;

  constructor(options: FailureBudgetOptions) {
    this.#o = { now: performance.now.bind(performance), ...options };
    this.#kinds = new LRUCache({ max: this.#o.maxKinds, ttl: this.#o.kindTtlMs, ttlResolution: 0, perf: { now: () => this.#o.now() } });
  }

  /** A verification of `kind` that started at `startedAt` is done. */
  observe(kind: string, startedAt: number): void {
    const work = Math.min(this.#o.now() - startedAt, this.#o.maxMs);
    const seen = this.#kinds.get(kind);
    this.#kinds.set(kind, { averageMs: seen ? seen.averageMs + SMOOTHING * (work - seen.averageMs) : work });
  }

  budgetMs(): number {
    let budget = 0;
    for (const { averageMs } of this.#kinds.values()) budget = Math.max(budget, averageMs);
    return budget;
  }

  /** Resolves once the budget since `startedAt` is spent (at once if it already is). */
  async hold(startedAt: number): Promise<void> {
    // over the average: the same work varies a little from run to run
    const until = startedAt + this.budgetMs() * 1.1 + 2;
    const left = until - this.#o.now();
    if (left > 0) await sleep(left);
  }

  now(): number {
    return this.#o.now();
  }
}
