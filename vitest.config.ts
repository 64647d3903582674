import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    // test/e2e drives real Dovecot, Postfix and nginx: `npm run test:e2e`
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // argon2id at the default parameters is CPU-bound; two workers match the two cores.
    maxWorkers: 2,
  },
});
