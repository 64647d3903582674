import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';

export interface FailureBudgetOptions {
  /** Longest a failure is held; work slower than this is not covered. */
  maxMs: number;
  /** A kind of verification not seen for this long stops counting. */
  kindTtlMs: number;
  /** Kinds remembered at most (least recently seen go first). */
  maxKinds: number;
  /** The budget rises at once and falls back by half over this long: the same for every attempt meanwhile. */
  halfLifeMs?: number;
  now?: () => number;
}

/** Weights of the newest sample in a kind's running average and running deviation (as TCP's RTO estimator). */
const MEAN_WEIGHT = 1 / 8;
const DEVIATION_WEIGHT = 1 / 4;
/** Deviations above the average a kind's budget covers: the same work varies from run to run, more on a busy host. */
const DEVIATIONS = 4;

interface KindTime {
  averageMs: number;
  deviationMs: number;
}

/**
 * Makes every cold failure take the same time, whatever the address is:
 * unknown, a wrong device password, an imported generic password under a
 * slower scheme, several parameter sets, refused by the throttle. Each kind
 * of verification (which hashes, which parameters) keeps a running average
 * and deviation of its work, as TCP estimates a round trip; the budget is
 * the largest average + 4 deviations, and a failure is answered no sooner
 * than that long after its verification started. The budget rises at once
 * and falls back slowly (halfLifeMs), so it hardly moves from one attempt to
 * the next: a time-varying budget would itself be a signal. Successes are
 * never held. A kind is remembered for kindTtlMs after it was last seen, so
 * an address that is rarely tried stays covered.
 */
export class FailureBudget {
  readonly #o: Required<FailureBudgetOptions>;
  readonly #kinds: LRUCache<string, KindTime>;
  #heldMs = 0;
  #heldAt = 0;

  constructor(options: FailureBudgetOptions) {
    this.#o = { now: performance.now.bind(performance), halfLifeMs: 600_000, ...options };
    this.#kinds = new LRUCache({ max: this.#o.maxKinds, ttl: this.#o.kindTtlMs, ttlResolution: 0, perf: { now: () => this.#o.now() } });
  }

  /** A verification of `kind` that started at `startedAt` is done. */
  observe(kind: string, startedAt: number): void {
    const work = Math.min(this.#o.now() - startedAt, this.#o.maxMs);
    const seen = this.#kinds.get(kind);
    if (!seen) {
      this.#kinds.set(kind, { averageMs: work, deviationMs: work / 2 });
      return;
    }
    seen.deviationMs += DEVIATION_WEIGHT * (Math.abs(work - seen.averageMs) - seen.deviationMs);
    seen.averageMs += MEAN_WEIGHT * (work - seen.averageMs);
    this.#kinds.set(kind, seen);
  }

  budgetMs(): number {
    let slowest = 0;
    for (const { averageMs, deviationMs } of this.#kinds.values()) slowest = Math.max(slowest, averageMs + DEVIATIONS * deviationMs);
    slowest = Math.min(slowest, this.#o.maxMs);
    const now = this.#o.now();
    const decayed = this.#heldMs * 2 ** (-(now - this.#heldAt) / this.#o.halfLifeMs);
    if (slowest >= decayed) {
      this.#heldMs = slowest;
      this.#heldAt = now;
      return slowest;
    }
    return decayed;
  }

  /** Resolves once the budget since `startedAt` is spent (at once if it already is). */
  async hold(startedAt: number): Promise<void> {
    const until = startedAt + this.budgetMs() + 1;
    const left = until - this.#o.now();
    if (left > 0) await sleep(left);
  }

  now(): number {
    return this.#o.now();
  }

  /** Kinds of verification remembered, for monitoring. */
  kinds(): number {
    return this.#kinds.size;
  }
}
