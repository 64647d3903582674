/**
 * The bounded, fair queue in front of the slow hashes. At most `concurrency`
 * run at once: as many as there are threads to run them (see
 * hash-threads.ts); more in flight would only wait, outside this queue's
 * fairness and in front of file and DNS work. Waiting work is served
 * round-robin by client network, so one network spraying guesses gets its
 * share and no more; past the limits a request is refused at once with
 * QueueFullError, which fronts answer as a temporary failure. Cached logins
 * never come here. Background work (re-storing an imported password as a
 * digest) runs only when no login waits.
 */
export interface HashQueueOptions {
  concurrency: number;
  maxQueued: number;
  maxQueuedPerClient: number;
  /** Background tasks kept waiting for an idle slot; more are dropped. */
  maxBackground?: number;
}

export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

interface Job {
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export class HashQueue {
  readonly #options: HashQueueOptions;
  /** Insertion order of the Map is the round-robin order. */
  readonly #waiting = new Map<string, Job[]>();
  readonly #background: Array<() => Promise<unknown>> = [];
  #queued = 0;
  #running = 0;
  #completed = 0;
  #refused = 0;

  constructor(options: HashQueueOptions) {
    this.#options = options;
  }

  get concurrency(): number {
    return this.#options.concurrency;
  }

  run<T>(client: string, task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#options.concurrency && this.#queued === 0) {
      return this.#start(task);
    }
    const queue = this.#waiting.get(client);
    if (this.#queued >= this.#options.maxQueued || (queue?.length ?? 0) >= this.#options.maxQueuedPerClient) {
      this.#refused++;
      return Promise.reject(new QueueFullError('hash queue full'));
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = { run: task, resolve: resolve as (value: unknown) => void, reject };
      if (queue) queue.push(job);
      else this.#waiting.set(client, [job]);
      this.#queued++;
    });
  }

  /**
   * Runs `task` when no login waits and a slot stays free for the next one
   * (or nothing runs at all); false when too many
   * background tasks wait already (the task is dropped). Its failure is the
   * task's own business: it must catch what it throws.
   */
  whenIdle(task: () => Promise<unknown>): boolean {
    if (this.#background.length >= (this.#options.maxBackground ?? 1000)) return false;
    this.#background.push(task);
    this.#next();
    return true;
  }

  stats(): { running: number; queued: number; clients: number; completed: number; refused: number; background: number } {
    return {
      running: this.#running, queued: this.#queued, clients: this.#waiting.size,
      completed: this.#completed, refused: this.#refused, background: this.#background.length,
    };
  }

  #start<T>(task: () => Promise<T>): Promise<T> {
    this.#running++;
    return task().finally(() => {
      this.#running--;
      this.#completed++;
      this.#next();
    });
  }

  #next(): void {
    while (this.#running < this.#options.concurrency && this.#queued > 0) {
      const [client, queue] = this.#waiting.entries().next().value as [string, Job[]];
      const job = queue.shift()!;
      this.#queued--;
      // the client goes to the back of the rotation, or leaves it when it has nothing left
      this.#waiting.delete(client);
      if (queue.length > 0) this.#waiting.set(client, queue);
      this.#start(job.run).then(job.resolve, job.reject);
    }
    // background work leaves a slot free for the next login, unless nothing at all runs
    while (this.#queued === 0 && this.#background.length > 0 && (this.#running === 0 || this.#running < this.#options.concurrency - 1)) {
      const task = this.#background.shift()!;
      this.#start(task).catch(() => undefined);
    }
  }
}
