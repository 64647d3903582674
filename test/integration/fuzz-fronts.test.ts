/**
 * Real-socket fuzzing of every running front (test/helpers/fuzz): each case
 * is answered or closed with the protocol's goodbye within a bound, the
 * output is well-formed, nothing is rejected unhandled, every front still
 * logs the device in afterwards, and no secret reaches the log.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedLines, startFronts, type Fronts } from '../helpers/fuzz/fronts.js';
import { fuzzParameters } from '../helpers/fuzz/settings.js';
import { SOCKET_TARGETS } from '../helpers/fuzz/socket-targets.js';

describe('fuzz: the running fronts', () => {
  let fronts: Fronts;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    fronts = await startFronts();
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await fronts?.stop();
  });

  for (const target of SOCKET_TARGETS) {
    it(`${target.name}: every case answered or closed with a goodbye, then a good login still works`, async () => {
      await fc.assert(target.property(fronts), fuzzParameters(target.defaultRuns));
      await target.goodLogin(fronts);
      expect(unhandled).toEqual([]);
    }, 120_000);
  }

  it('no secret in any log line', () => {
    expect(fronts.logLines().length).toBeGreaterThan(100);
    expect(leakedLines(fronts.logLines())).toEqual([]);
  });
});
