import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // argon2id at the default parameters is CPU-bound; two workers match the two cores.
    maxWorkers: 2,
  },
});
