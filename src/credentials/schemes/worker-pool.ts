import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * A small pool of worker threads for CPU-bound verifiers that have no async
 * native implementation (SHA-crypt is thousands of chained digests: ~13 ms at
 * the default 5000 rounds, far over the event loop's budget).
 *
 * Workers run from a JavaScript source string (`eval: true`) rather than a file
 * so that the same code works from dist/ and from the TypeScript sources under
 * vitest, where a sibling .js file does not exist.
 *
 * Protocol: the pool posts one request at a time to a worker; the worker
 * answers `{ ok: true, value }` or `{ ok: false, error }`. One job per worker
 * at a time means a crash is always attributable to exactly one job.
 */

interface Job {
  readonly request: unknown;
  readonly transfer: ArrayBuffer[];
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Reply = { ok: true; value: unknown } | { ok: false; error: string };

export interface WorkerPoolOptions {
  /** Upper bound on threads; they start lazily, on demand. */
  readonly maxWorkers?: number;
  /** Jobs waiting beyond this are refused rather than queued without bound. */
  readonly maxQueue?: number;
}

// Leave the main thread a core when there are few; a handful is plenty since
// argon2/bcrypt/pbkdf2 already share libuv's own 4-thread pool.
function defaultSize(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export class WorkerPool {
  private readonly maxWorkers: number;
  private readonly maxQueue: number;
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private live = 0;
  private closed = false;

  constructor(
    private readonly source: string,
    options: WorkerPoolOptions = {},
  ) {
    this.maxWorkers = Math.max(1, options.maxWorkers ?? defaultSize());
    this.maxQueue = Math.max(0, options.maxQueue ?? 1024);
  }

  /** Runs one request; `transfer` lists buffers to move rather than copy. */
  run<T>(request: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) {
        reject(new Error('worker pool is closed'));
        return;
      }
      const job: Job = { request, transfer, resolve: resolve as (v: unknown) => void, reject };
      const worker = this.idle.pop() ?? (this.live < this.maxWorkers ? this.spawn() : undefined);
      if (worker) this.dispatch(worker, job);
      else if (this.queue.length >= this.maxQueue) reject(new Error('worker pool queue is full'));
      else this.queue.push(job);
    });
  }

  /** Refuses queued jobs, fails running ones and stops every thread. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('worker pool is closed'));
    const workers = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const worker = new Worker(this.source, { eval: true });
    this.live++;
    worker.on('message', (reply: Reply) => {
      const job = this.busy.get(worker);
      if (!job) return;
      this.busy.delete(worker);
      if (reply.ok) job.resolve(reply.value);
      else job.reject(new Error(reply.error));
      this.next(worker);
    });
    worker.on('error', (error: Error) => this.fail(worker, error));
    worker.on('exit', () => {
      this.live--;
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
      this.fail(worker, new Error('worker thread exited'));
      // Replace the lost thread if work is waiting. Each replacement takes a
      // job with it, so a worker that always dies cannot loop forever.
      const job = this.closed ? undefined : this.queue.shift();
      if (job) this.dispatch(this.spawn(), job);
    });
    return worker;
  }

  private fail(worker: Worker, error: Error): void {
    const job = this.busy.get(worker);
    if (!job) return;
    this.busy.delete(worker);
    job.reject(error);
  }

  private dispatch(worker: Worker, job: Job): void {
    this.busy.set(worker, job);
    // Busy threads keep the process alive until they answer; idle ones don't.
    worker.ref();
    worker.postMessage(job.request, job.transfer);
  }

  private next(worker: Worker): void {
    const job = this.queue.shift();
    if (job) {
      this.dispatch(worker, job);
    } else {
      worker.unref();
      this.idle.push(worker);
    }
  }
}
