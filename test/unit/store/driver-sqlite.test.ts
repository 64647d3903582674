import path from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteDriver } from '../../../src/store/sqlite-driver.js';
import { tempDir } from '../../helpers/env.js';
import { describeDriver } from './driver-suite.js';

// the same suite as PostgreSQL's (driver-postgres.test.ts), on a fresh SQLite file each time
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

describeDriver('sqlite', async () => {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const driver = openSqliteDriver({ file: path.join(tmp.dir, 'devicepass.db'), maxEvents: 1_000_000, journalPollMs: 10 });
  return driver;
});
