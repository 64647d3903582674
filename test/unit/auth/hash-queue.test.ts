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

describe('HashQueue lanes', () => {
  it('keeps the last slot from work of networks not proven while suspect work is about', async () => {
    const queue = new HashQueue({ concurrency: 2, maxQueued: 100, maxQueuedPerClient: 100 });
    const gates = Array.from({ length: 3 }, () => deferred());
    const order: string[] = [];
    let suspectRunning = 0;
    let peakSuspect = 0;
    const task = (name: string, gate: Promise<void>, suspect: boolean) => async () => {
      if (suspect) peakSuspect = Math.max(peakSuspect, ++suspectRunning);
      order.push(name);
      await gate;
      if (suspect) suspectRunning--;
    };
    const done = [
      queue.run('attacker 1', task('attacker 1', gates[0]!.promise, true), 'suspect'),
      // a second suspect job waits although a slot is free: the last slot is not for suspect work
      queue.run('attacker 2', task('attacker 2', gates[1]!.promise, true), 'suspect'),
    ];
    expect(order).toEqual(['attacker 1']);
    // a network without history waits too while the attack is on
    const strangerGate = deferred();
    done.push(queue.run('stranger', task('stranger', strangerGate.promise, false), 'new'));
    expect(order).toEqual(['attacker 1']);
    // the owner's cold login from home (where the other devices log in) takes the free slot at once
    done.push(queue.run('owner', task('owner', gates[2]!.promise, false), 'proven'));
    expect(order).toEqual(['attacker 1', 'owner']);
    strangerGate.resolve();
    for (const g of gates) g.resolve();
    await Promise.all(done);
    expect(order).toEqual(['attacker 1', 'owner', 'stranger', 'attacker 2']);
    expect(peakSuspect).toBe(1);
  });

  it('serves the lanes in weighted turns, proven 3, new 2, suspect 1, so none starves', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 100, maxQueuedPerClient: 100 });
    const gate = deferred();
    const order: string[] = [];
    const first = queue.run('busy', () => gate.promise);
    const done: Array<Promise<unknown>> = [];
    for (let i = 0; i < 6; i++) {
      done.push(queue.run(`attacker ${i}`, async () => order.push('suspect'), 'suspect'));
      done.push(queue.run(`stranger ${i}`, async () => order.push('new'), 'new'));
      done.push(queue.run(`home ${i}`, async () => order.push('proven'), 'proven'));
    }
    gate.resolve();
    await Promise.all([first, ...done]);
    expect(order.slice(0, 6).sort()).toEqual(['new', 'new', 'proven', 'proven', 'proven', 'suspect']);
    expect(order.filter((o) => o === 'suspect')).toHaveLength(6); // served in the end, never starved
  });
});
