import { describe, expect, it } from 'vitest';
import { FailureBudget } from '../../../src/auth/failure-budget.js';

describe('FailureBudget', () => {
  const make = (now: { t: number }, maxKinds = 8) =>
    new FailureBudget({ maxMs: 5000, kindTtlMs: 86_400_000, maxKinds, halfLifeMs: 600_000, now: () => now.t });
  const work = (budget: FailureBudget, now: { t: number }, kind: string, ms: number) => {
    const start = now.t;
    now.t += ms;
    budget.observe(kind, start);
  };

  it('covers the slowest kind of verification, with room for its variation', () => {
    const now = { t: 1_000_000 };
    const budget = make(now);
    for (let i = 0; i < 50; i++) {
      work(budget, now, 'digest', 35);
      work(budget, now, 'bcrypt-10', i % 2 ? 100 : 110);
    }
    expect(budget.budgetMs()).toBeGreaterThanOrEqual(110);
    expect(budget.budgetMs()).toBeLessThan(200);
  });

  it('rises at once and falls back slowly, by half over the half-life', () => {
    const now = { t: 1_000_000 };
    const budget = make(now, 1);
    for (let i = 0; i < 50; i++) work(budget, now, 'slow', 400);
    const high = budget.budgetMs();
    for (let i = 0; i < 50; i++) work(budget, now, 'fast', 40); // evicts "slow": one kind kept
    expect(budget.budgetMs()).toBeGreaterThan(high * 0.99);
    now.t += 600_000;
    expect(budget.budgetMs()).toBeCloseTo(high / 2, 0);
  });

  it('never holds longer than its cap', () => {
    const now = { t: 1_000_000 };
    const budget = make(now);
    work(budget, now, 'absurd', 60_000);
    expect(budget.budgetMs()).toBe(5000);
  });

  it('remembers a bounded number of kinds', () => {
    const now = { t: 1_000_000 };
    const budget = make(now, 4);
    for (let i = 0; i < 100; i++) work(budget, now, `kind ${i}`, 10);
    expect(budget.kinds()).toBe(4);
  });
});
