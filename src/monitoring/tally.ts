/**
 * Counts by a tuple of label values, for /metrics to read at scrape time:
 * a front adds one, and nothing is allocated per event after the first of a
 * tuple (the key is built from a few short strings).
 */
export class Tally {
  readonly #counts = new Map<string, number>();

  add(...labels: string[]): void {
    const key = labels.join('\t');
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  entries(): Array<[labels: string[], count: number]> {
    return [...this.#counts].map(([key, count]) => [key.split('\t'), count]);
  }
}
