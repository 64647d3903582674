import { isIPv6 } from 'node:net';
import type { Logger } from '../log/logger.js';
import { unmapIpv4 } from '../net/networks.js';
import type { AuditSink } from '../store/driver.js';
import type { AuditEvent, LastUse, UsageUpdate } from '../store/types.js';

export interface LoginRecorderOptions {
  flushIntervalMs: number;
  /** Flush at once when this many distinct entries are waiting. */
  maxBuffered: number;
  /** Failures are aggregated per address, reason and device within windows of this length. */
  failureWindowMs: number;
  /** Distinct failure aggregates per window; past it, failures fold into one row per reason without an address. */
  maxFailureKeys?: number;
  /** Client networks listed per failure aggregate; more are counted, not listed. */
  maxNetworks?: number;
}

export interface FailureRecord {
  at: number;
  /** Null when the attempt named no valid address. */
  address: string | null;
  reason: string;
  deviceName: string | null;
  /** When the credential was revoked or reset, for the log's "still trying since". */
  since: number | null;
  protocol: string;
  ip: string;
  client: string | null;
}

/** One failure aggregate of the current window: what is not yet written, and the networks seen so far. */
interface Aggregate {
  event: AuditEvent & { windowKey: string };
  /** Attempts since the last write. */
  pending: number;
  networks: Set<string>;
  moreNetworks: boolean;
}

export interface RecorderStats {
  /** Login records (events, last-use updates) dropped because they could not be written. */
  dropped: number;
}

const DEFAULT_MAX_FAILURE_KEYS = 1000;
const DEFAULT_MAX_NETWORKS = 8;
/** Batches a held write lock may postpone (one a flush interval) before they are dropped. */
const MAX_BUSY_TRIES = 60;

/**
 * Keeps disk writes off the login path and bounded whatever an attacker
 * sends. Successes and last-use updates wait in memory and are written in
 * one transaction per interval; identical successes inside one interval
 * become one event with a count. Failures are aggregated per (address,
 * reason, device, window) with a capped list of client networks: one row
 * per window, updated in place by later flushes, so a flood of refusals
 * that cost no hash costs no row each — only a counter in memory. The number
 * of aggregates per window is capped too: a spray over many addresses folds
 * into one row per reason.
 *
 * A batch that cannot be written (disk full, another process holding the
 * write lock for too long) is dropped and counted, never retried without
 * bound: login records are the first thing given up, never a login.
 */
export class LoginRecorder {
  readonly #sink: AuditSink;
  readonly #log: Logger;
  readonly #options: Required<LoginRecorderOptions>;
  readonly #successes = new Map<string, AuditEvent & { count: number; lastAt: number }>();
  readonly #usage = new Map<number, LastUse>();
  #window = -1;
  readonly #failures = new Map<string, Aggregate>();
  #dirtyFailures = 0;
  #timer: NodeJS.Timeout | null = null;
  #dropped = 0;
  /** While set, login records are dropped before any write (the store says the disk is short). */
  #shed: () => boolean = () => false;
  /** Writes not settled yet: flush() resolves once its batch and those before it are settled. */
  #writing: Promise<void> = Promise.resolve();

  constructor(sink: AuditSink, log: Logger, options: LoginRecorderOptions) {
    this.#sink = sink;
    this.#log = log;
    this.#options = { maxFailureKeys: DEFAULT_MAX_FAILURE_KEYS, maxNetworks: DEFAULT_MAX_NETWORKS, ...options };
  }

  /** A predicate asked before each write: true drops the batch without touching the disk. */
  shedWhen(predicate: () => boolean): void {
    this.#shed = predicate;
  }

  /**
   * Records one successful login. `key` identifies what makes two successes
   * the same (device, protocol, IP, client); `build` makes the event only the
   * first time a key is seen in the interval, so a repeat costs a counter
   * increment and no allocation.
   */
  success(key: string, at: number, build: () => AuditEvent, usage: { deviceId: number; use: LastUse }): void {
    const pending = this.#successes.get(key);
    if (pending) {
      pending.count++;
      pending.lastAt = at;
    } else {
      this.#successes.set(key, { ...build(), count: 1, lastAt: at });
    }
    this.#usage.set(usage.deviceId, usage.use);
    this.#scheduleFlush();
  }

  /** Records one failed login into its window's aggregate. */
  failure(f: FailureRecord): void {
    const window = Math.floor(f.at / this.#options.failureWindowMs);
    if (window !== this.#window) this.#startWindow(window);
    let key = `${f.address}\0${f.reason}\0${f.deviceName}`;
    let aggregate = this.#failures.get(key);
    if (!aggregate && this.#failures.size >= this.#options.maxFailureKeys) {
      key = `\0overflow\0${f.reason}`;
      aggregate = this.#failures.get(key);
      f = { ...f, address: null, deviceName: null, since: null };
    }
    if (!aggregate) {
      aggregate = {
        event: {
          at: f.at, lastAt: f.at, count: 0, type: 'login.fail', address: f.address, deviceName: f.deviceName, reason: f.reason,
          protocol: f.protocol, ip: f.ip, client: f.client, windowKey: `${window * this.#options.failureWindowMs}\0${key}`,
          detail: f.since === null ? null : { since: new Date(f.since).toISOString() },
        },
        pending: 0, networks: new Set(), moreNetworks: false,
      };
      this.#failures.set(key, aggregate);
    }
    if (aggregate.pending === 0) this.#dirtyFailures++;
    aggregate.pending++;
    aggregate.event.lastAt = f.at;
    const network = clientNetwork(f.ip);
    if (!aggregate.networks.has(network)) {
      if (aggregate.networks.size < this.#options.maxNetworks) aggregate.networks.add(network);
      else aggregate.moreNetworks = true;
    }
    this.#scheduleFlush();
  }

  /**
   * Writes what is waiting; administrative reads call this first so they see
   * every login. Resolves when the batch is written (or dropped).
   */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#successes.size === 0 && this.#usage.size === 0 && this.#dirtyFailures === 0 && !this.#carried) return this.#writing;
    const events: AuditEvent[] = [...this.#successes.values()];
    const written: Aggregate[] = [];
    for (const aggregate of this.#failures.values()) {
      if (aggregate.pending === 0) continue;
      written.push(aggregate);
      events.push({
        ...aggregate.event,
        count: aggregate.pending,
        detail: { ...aggregate.event.detail, networks: [...aggregate.networks], ...(aggregate.moreNetworks ? { moreNetworks: true } : {}) },
      });
    }
    const usage = [...this.#usage].map(([deviceId, use]) => ({ deviceId, use }));
    this.#successes.clear();
    this.#usage.clear();
    for (const aggregate of written) aggregate.pending = 0;
    this.#dirtyFailures = 0;
    const previous = this.#writing;
    const writing = this.#write(events, usage);
    this.#writing = Promise.all([previous, writing]).then(() => {});
    return this.#writing;
  }

  /** Events and last use waiting since a write found the lock held elsewhere: tried again with the next batch. */
  #carried: { events: AuditEvent[]; usage: UsageUpdate[]; tries: number } | null = null;

  #write(fresh: AuditEvent[], freshUsage: UsageUpdate[]): Promise<void> {
    const carried = this.#carried;
    this.#carried = null;
    const events = carried ? [...carried.events, ...fresh] : fresh;
    const usage = carried ? [...carried.usage, ...freshUsage] : freshUsage;
    const tries = (carried?.tries ?? 0) + 1;
    const drop = (lost: { events: AuditEvent[]; usage: UsageUpdate[] }, err?: unknown) => {
      const records = lost.events.reduce((sum, e) => sum + (e.count ?? 1), 0) + lost.usage.length;
      this.#dropped += records;
      if (err !== undefined) {
        const { code, message } = err as { code?: unknown; message?: unknown };
        this.#log.error({ err: { code, message }, records }, 'could not write login records; dropped');
      }
    };
    if (this.#shed()) {
      drop({ events, usage });
      return Promise.resolve();
    }
    // both writes start now (on SQLite they are done when the calls return, so a read right after flush() sees them)
    const written = [
      events.length > 0 ? this.#sink.appendEvents(events) : Promise.resolve(),
      usage.length > 0 ? this.#sink.recordUsage(usage) : Promise.resolve(),
    ];
    return Promise.allSettled(written).then(([eventsWrite, usageWrite]) => {
      const failed = { events: eventsWrite?.status === 'rejected' ? events : [], usage: usageWrite?.status === 'rejected' ? usage : [] };
      const err = [eventsWrite, usageWrite].find((r): r is PromiseRejectedResult => r?.status === 'rejected')?.reason as unknown;
      if (err === undefined) return;
      // the store is busy elsewhere (a bulk import, another process): the next batch takes these along
      const busy = [eventsWrite, usageWrite].every((r) => r?.status !== 'rejected' || this.#sink.isBusy(r.reason));
      if (busy && tries < MAX_BUSY_TRIES && failed.events.length + failed.usage.length <= 2 * this.#options.maxBuffered) {
        this.#carried = { ...failed, tries };
        this.#timer ??= setTimeout(() => void this.flush(), this.#options.flushIntervalMs).unref();
        return;
      }
      // losing a batch of audit rows is bad; taking logins down with it would be worse
      drop(failed, err);
    });
  }

  stats(): RecorderStats {
    return { dropped: this.#dropped };
  }

  #scheduleFlush(): void {
    if (this.#successes.size + this.#usage.size + this.#dirtyFailures >= this.#options.maxBuffered) this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#options.flushIntervalMs).unref();
  }

  /** A new window: what the old one still holds is written, then its aggregates are forgotten. */
  #startWindow(window: number): void {
    if (this.#dirtyFailures > 0) this.flush();
    this.#failures.clear();
    this.#window = window;
  }
}

/** The network an attempt came from, as the log lists it: an IPv4 address, or an IPv6 /64. */
export function clientNetwork(ip: string): string {
  const plain = unmapIpv4(ip);
  if (!isIPv6(plain)) return plain;
  const [head = '', tail = ''] = plain.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = plain.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`;
}
