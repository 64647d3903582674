import { describe, expect, it } from 'vitest';
import { HashQueue, QueueFullError } from '../../../src/auth/hash-queue.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('HashQueue', () => {
  it('runs at most `concurrency` tasks at once', async () => {
    const queue = new HashQueue({ concurrency: 2, maxQueued: 100, maxQueuedPerClient: 100 });
    let running = 0;
    let peak = 0;
    const task = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    };
    await Promise.all(Array.from({ length: 10 }, (_, i) => queue.run(`c${i % 3}`, task)));
    expect(peak).toBe(2);
    expect(queue.stats()).toMatchObject({ running: 0, queued: 0, completed: 10 });
  });

  it('serves waiting clients round-robin, so a flood from one client does not starve another', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 1000, maxQueuedPerClient: 1000 });
    const gate = deferred();
    const order: string[] = [];
    const first = queue.run('flood', () => gate.promise);
    const jobs = [
      ...Array.from({ length: 5 }, () => queue.run('flood', async () => void order.push('flood'))),
      queue.run('victim', async () => void order.push('victim')),
    ];
    gate.resolve();
    await Promise.all([first, ...jobs]);
    expect(order.indexOf('victim')).toBeLessThanOrEqual(1);
  });

  it('refuses at once past the per-client and total limits, and recovers', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 3, maxQueuedPerClient: 2 });
    const gate = deferred();
    const held = queue.run('a', () => gate.promise);
    const a1 = queue.run('a', async () => 1);
    const a2 = queue.run('a', async () => 2);
    await expect(queue.run('a', async () => 3)).rejects.toBeInstanceOf(QueueFullError);
    const b1 = queue.run('b', async () => 4);
    await expect(queue.run('c', async () => 5)).rejects.toBeInstanceOf(QueueFullError);
    gate.resolve();
    expect(await Promise.all([held, a1, a2, b1])).toEqual([undefined, 1, 2, 4]);
    expect(await queue.run('c', async () => 6)).toBe(6);
    expect(queue.stats().refused).toBe(2);
  });

  it('a failing task frees its slot and rejects only its caller', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 10, maxQueuedPerClient: 10 });
    const bad = queue.run('a', async () => {
      throw new Error('boom');
    });
    const good = queue.run('a', async () => 'fine');
    await expect(bad).rejects.toThrow('boom');
    expect(await good).toBe('fine');
  });

  it('runs background work only when no login waits, and bounds how much may wait', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 100, maxQueuedPerClient: 100, maxBackground: 2 });
    const gate = deferred();
    const order: string[] = [];
    const login = queue.run('a', () => gate.promise.then(() => order.push('login 1')));
    const waiting = queue.run('b', async () => order.push('login 2'));
    expect(queue.whenIdle(async () => order.push('upgrade 1'))).toBe(true);
    expect(queue.whenIdle(async () => order.push('upgrade 2'))).toBe(true);
    expect(queue.whenIdle(async () => order.push('upgrade 3'))).toBe(false);
    expect(queue.stats().background).toBe(2);
    gate.resolve();
    await Promise.all([login, waiting]);
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['login 1', 'login 2', 'upgrade 1', 'upgrade 2']);
  });
});
