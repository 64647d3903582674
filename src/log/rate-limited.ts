import type { Logger } from './logger.js';

/**
 * A warning that is written at most once per interval: the first one at once,
 * the ones after it only counted, and the count told by the next line written.
 * A flood of refused connections must not become a flood of log lines.
 */
export class RateLimitedWarning {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #last = -Infinity;
  #suppressed = 0;

  constructor(log: Logger, intervalMs: number, now: () => number = Date.now) {
    this.#log = log;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  warn(fields: Record<string, unknown>, message: string): void {
    const now = this.#now();
    if (now - this.#last < this.#intervalMs) {
      this.#suppressed++;
      return;
    }
    this.#last = now;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#log.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
