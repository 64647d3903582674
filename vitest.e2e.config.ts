import { defineConfig } from 'vitest/config';

/** End-to-end suites against real Dovecot, Postfix, Exim and nginx from Debian (see .ci/run for the packages). */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // the suites start real servers; one at a time keeps ports, CPU and logs untangled
    fileParallelism: false,
  },
});
