import { statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskReserve } from '../../../src/store/disk-reserve.js';
import { tempDir } from '../../helpers/env.js';

describe('DiskReserve', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('holds a file of real blocks, gives it back, and re-creates it once there is room, not before the retry interval', () => {
    let now = 1_000_000;
    const reserve = new DiskReserve(path.join(dir, 'devicepass.db'), 256 * 1024, () => now);
    expect(reserve.ensure()).toBe(true);
    const stats = statSync(reserve.file);
    expect(stats.size).toBe(256 * 1024);
    expect(stats.blocks * 512).toBeGreaterThanOrEqual(256 * 1024);
    expect(reserve.short()).toBe(false);
    expect(reserve.release()).toBe(true);
    expect(reserve.release()).toBe(false);
    expect(reserve.held).toBe(false);
    expect(reserve.short()).toBe(true);
    now += 9_999;
    expect(reserve.short()).toBe(true);
    expect(reserve.held).toBe(false);
    now += 1;
    expect(reserve.short()).toBe(false);
    expect(reserve.held).toBe(true);
  });
});
