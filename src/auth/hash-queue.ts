/**
 * The bounded, fair queue in front of the slow hashes. At most `concurrency`
 * run at once: as many as there are threads to run them (see
 * credentials/hash-threads.ts); more in flight would only wait, outside this
 * queue's fairness and in front of file and DNS work.
 *
 * Three lanes: networks that logged in lately ("proven": the owner's home,
 * where the other devices keep logging in), networks without history, and
 * "suspect" networks (fresh failures lately), served in weighted turns
 * (3 : 2 : 1, skipping empty lanes), so that none starves another.
 * While suspect work waits or runs, work for networks that are not proven
 * never takes the last slot (when there is more than one); otherwise
 * networks without history use every slot (the first logins after a
 * restart or an import).
 * During an attack from many networks the owner's cold login waits for one
 * running hash, not for a turn among the attackers, and a core stays free
 * for the logins that need no hash. Within a lane, waiting work is served
 * round-robin by client network, so one network spraying guesses gets its
 * share and no more. Past the limits a request is refused at once with
 * QueueFullError, which fronts answer as a temporary failure. Cached logins
 * never come here. Background work (re-storing an imported password as a
 * digest) runs only when the queue is idle, one task at a time.
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

/** Waiting jobs by client; the Map's insertion order is the round-robin order. */
type Lane = Map<string, Job[]>;

/** Where a client network's hashes queue, by its recent history. */
export type Standing = 'proven' | 'new' | 'suspect';
const LANE_ORDER: readonly Standing[] = ['proven', 'new', 'suspect'];
/** The lanes' turns: proven 3, new 2, suspect 1 in every 6. */
const TURNS: readonly Standing[] = ['proven', 'new', 'proven', 'suspect', 'proven', 'new'];

export class HashQueue {
  readonly #options: HashQueueOptions;
  readonly #lanes: Record<Standing, Lane> = { proven: new Map(), new: new Map(), suspect: new Map() };
  readonly #background: Array<() => Promise<unknown>> = [];
  /** Work for networks not proven, running at most while suspect work is about: all but one slot, or the one there is. */
  readonly #maxUnproven: number;
  #queued = 0;
  #running = 0;
  #runningSuspect = 0;
  #runningUnproven = 0;
  #turn = 0;
  #completed = 0;
  #refused = 0;

  constructor(options: HashQueueOptions) {
    this.#options = options;
    this.#maxUnproven = Math.max(1, options.concurrency - 1);
  }

  get concurrency(): number {
    return this.#options.concurrency;
  }

  /** Runs `task` for `client` (its network) in the lane of its standing. */
  run<T>(client: string, task: () => Promise<T>, standing: Standing = 'new'): Promise<T> {
    if (this.#queued === 0 && this.#running < this.#options.concurrency && this.#mayStart(standing)) {
      return this.#start(task, standing);
    }
    const lane = this.#lanes[standing];
    const queue = lane.get(client);
    if (this.#queued >= this.#options.maxQueued || (queue?.length ?? 0) >= this.#options.maxQueuedPerClient) {
      this.#refused++;
      return Promise.reject(new QueueFullError('hash queue full'));
    }
    const waiting = new Promise<T>((resolve, reject) => {
      const job: Job = { run: task, resolve: resolve as (value: unknown) => void, reject };
      if (queue) queue.push(job);
      else lane.set(client, [job]);
      this.#queued++;
    });
    // a slot may be free that only suspect work was kept from
    this.#next();
    return waiting;
  }

  /**
   * Runs `task` when the queue is idle (nothing runs, nothing waits); false
   * when too many background tasks wait already (the task is dropped). Its failure is the task's own business:
   * it must catch what it throws.
   */
  whenIdle(task: () => Promise<unknown>): boolean {
    if (this.#background.length >= (this.#options.maxBackground ?? 1000)) return false;
    this.#background.push(task);
    this.#next();
    return true;
  }

  stats(): { running: number; queued: number; clients: number; completed: number; refused: number; background: number } {
    return {
      running: this.#running, queued: this.#queued, clients: LANE_ORDER.reduce((n, s) => n + this.#lanes[s].size, 0),
      completed: this.#completed, refused: this.#refused, background: this.#background.length,
    };
  }

  /** Whether work of this standing may take a free slot now. */
  #mayStart(standing: Standing): boolean {
    if (standing === 'proven') return true;
    const attacked = standing === 'suspect' || this.#runningSuspect > 0 || this.#lanes.suspect.size > 0;
    return !attacked || this.#runningUnproven < this.#maxUnproven;
  }

  #start<T>(task: () => Promise<T>, standing: Standing): Promise<T> {
    this.#running++;
    if (standing === 'suspect') this.#runningSuspect++;
    if (standing !== 'proven') this.#runningUnproven++;
    return task().finally(() => {
      this.#running--;
      if (standing === 'suspect') this.#runningSuspect--;
      if (standing !== 'proven') this.#runningUnproven--;
      this.#completed++;
      this.#next();
    });
  }

  #next(): void {
    while (this.#running < this.#options.concurrency && this.#queued > 0) {
      // the next turn whose lane has work that may start; none: wait for a slot to free
      let chosen: Standing | undefined;
      for (let i = 0; i < TURNS.length && chosen === undefined; i++) {
        const standing = TURNS[(this.#turn + i) % TURNS.length]!;
        if (this.#lanes[standing].size > 0 && this.#mayStart(standing)) {
          chosen = standing;
          this.#turn = (this.#turn + i + 1) % TURNS.length;
        }
      }
      if (chosen === undefined) break;
      this.#take(this.#lanes[chosen], chosen);
    }
    // background work only when nothing at all runs: under a steady load of logins it waits for a lull
    while (this.#queued === 0 && this.#background.length > 0 && this.#running === 0) {
      const task = this.#background.shift()!;
      this.#start(task, 'proven').catch(() => undefined);
    }
  }

  #take(lane: Lane, standing: Standing): void {
    const [client, queue] = lane.entries().next().value as [string, Job[]];
    const job = queue.shift()!;
    this.#queued--;
    // the client goes to the back of the rotation, or leaves it when it has nothing left
    lane.delete(client);
    if (queue.length > 0) lane.set(client, queue);
    this.#start(job.run, standing).then(job.resolve, job.reject);
  }
}
