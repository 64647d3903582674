import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { collectWarnings, warnCaller } from '../../../src/errors/warnings.js';

describe('warnings collected per request', () => {
  it('a request that ends first does not take the context from one still running; the storage comes back for the next', async () => {
    const slow = collectWarnings(async () => {
      await sleep(30);
      warnCaller('slow one');
      return 'slow';
    });
    const quick = await collectWarnings(async () => {
      warnCaller('quick one');
      return 'quick';
    });
    expect(quick).toEqual({ value: 'quick', warnings: ['quick one'] });
    expect(await slow).toEqual({ value: 'slow', warnings: ['slow one'] });
    // outside any request: told to no one
    warnCaller('nobody');
    // and again after the last one disabled the storage
    expect(await collectWarnings(async () => {
      await sleep(1);
      warnCaller('again');
      return 1;
    })).toEqual({ value: 1, warnings: ['again'] });
  });

  it('a request that throws leaves the storage usable', async () => {
    await expect(collectWarnings(async () => {
      throw new Error('refused');
    })).rejects.toThrow('refused');
    expect((await collectWarnings(async () => {
      warnCaller('after');
      return 0;
    })).warnings).toEqual(['after']);
  });
});
