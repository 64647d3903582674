/**
 * Follows the revocation journal for this node. A dedicated connection
 * LISTENs on the journal channel; a notification is only a wake-up (NOTIFY
 * reaches only connected listeners, and only after commit): each wake-up, the
 * start, every reconnect and a cheap poll every second read the table from
 * the last sequence seen, so nothing is missed across a lost connection or a
 * server restart. Entries reach the listeners in sequence order, each once.
 *
 * Every read on the connection has a deadline: a partition sends neither an
 * error nor a reset, so a read with no answer in time counts the connection
 * as lost (it is cut and made again, replaying from the last sequence). While
 * the connection is down, the journal is polled every 50 ms through the
 * driver's pool (which may take another way to PostgreSQL, `[store]
 * feed_url`), and what it finds is delivered the same way, so sessions are
 * still cut and changes still acknowledged; the poll stops once the
 * connection is back.
 *
 * Each read also returns the purge watermark (the highest seq a journal
 * purge deleted). Above this feed's last seq, it means entries were deleted
 * before this node read them (it was cut off longer than the journal is
 * kept): the gap listeners are told, once per purge, so that nothing trusted
 * from before is kept.
 */
import pg from 'pg';
import type { Logger } from '../../log/logger.js';
import type { JournalEntry, RevocationFeed } from '../driver.js';
import { JOURNAL_CHANNEL } from './journal.js';
import { maskUrl, PG_TYPES, scrubSecrets, StoreUnavailableError } from './pool.js';

export interface PgJournalFeedOptions {
  url: string;
  log: Logger;
  /** Start after this seq; default: the journal's last seq when start() runs (history is not replayed). */
  fromSeq?: number;
  /** The fallback read when no notification came; default 1 s. */
  pollIntervalMs?: number;
  /** Reconnect delays: doubling from the first to the cap; default 50 ms to 2 s. */
  backoffMs?: { first: number; cap: number };
  connectionTimeoutMs?: number;
  /** Entries read per statement while catching up. */
  batchSize?: number;
  /** A read on the feed's connection with no answer for this long counts the connection as lost; default 2 s. */
  readTimeoutMs?: number;
  /** Another way to read the journal (the driver's pool), polled while the feed's connection is down. */
  fallback?: JournalReader;
  /** How often the fallback reads; default 50 ms. */
  fallbackIntervalMs?: number;
}

/** Runs one statement and hands back its rows (the driver's pool, for the fallback reads). */
export type JournalReader = <R extends pg.QueryResultRow>(query: pg.QueryConfig) => Promise<pg.QueryResult<R>>;

/** Probes an idle connection after this long without traffic (the system's default is two hours). */
const KEEPALIVE_IDLE_MS = 5_000;
/** A goodbye that has not gone through in this long (a partition) is cut short: stop() must not hang on it. */
const END_GRACE_MS = 500;

/** One journal row, or (seq null) none: the purge watermark comes with every read, rows or not. */
type JournalRecord = { purged: number } & (
  | { seq: number; address: string; device_id: number | null; reason: string; cuts: boolean }
  | { seq: null; address: null; device_id: null; reason: null; cuts: null }
);

/** A purge deleted entries this feed had not read: from `after` (exclusive) up to `through`, some are gone. */
export interface JournalGap {
  after: number;
  through: number;
}

export class PgJournalFeed implements RevocationFeed {
  readonly #options: PgJournalFeedOptions;
  readonly #log: Logger;
  readonly #entryListeners: Array<(entry: JournalEntry) => void> = [];
  readonly #appliedListeners: Array<(seq: number) => void> = [];
  readonly #connectionListeners: Array<(up: boolean) => void> = [];
  readonly #gapListeners: Array<(gap: JournalGap) => void> = [];
  /** The watermark of the last gap told: the same purge is told once. */
  #gapTold = 0;
  #client: pg.Client | null = null;
  #last: number;
  #connected = false;
  #running = false;
  #reading: Promise<void> | null = null;
  #again = false;
  #poll: NodeJS.Timeout | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  /** Set while the connection is down and a fallback reader polls the journal. */
  #fallbackPoll: NodeJS.Timeout | null = null;
  /** A failing fallback is logged once per spell, not every 50 ms. */
  #fallbackFailing = false;
  #delay: number;
  readonly #readTimeoutMs: number;

  constructor(options: PgJournalFeedOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#last = options.fromSeq ?? -1;
    this.#delay = options.backoffMs?.first ?? 50;
    this.#readTimeoutMs = options.readTimeoutMs ?? 2_000;
  }

  /** The last seq whose entry the listeners ran for (or that the feed started after). */
  get appliedSeq(): number {
    return Math.max(this.#last, 0);
  }

  get connected(): boolean {
    return this.#connected;
  }

  onEntry(listener: (entry: JournalEntry) => void): void {
    this.#entryListeners.push(listener);
  }

  /** Called with the new appliedSeq once the entry listeners ran for a batch. */
  onApplied(listener: (seq: number) => void): void {
    this.#appliedListeners.push(listener);
  }

  onConnectionChange(listener: (up: boolean) => void): void {
    this.#connectionListeners.push(listener);
  }

  /** Told (synchronously, before the entries read with it) when a purge deleted entries this feed had not read. */
  onGap(listener: (gap: JournalGap) => void): void {
    this.#gapListeners.push(listener);
  }

  /** Connects, LISTENs and catches up; rejects (StoreUnavailableError) when the first connection fails. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      await this.#connect();
    } catch (err) {
      this.#running = false;
      throw err;
    }
    const interval = this.#options.pollIntervalMs ?? 1_000;
    this.#poll = setInterval(() => this.#wake(), interval);
    this.#poll.unref();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#poll) clearInterval(this.#poll);
    if (this.#reconnect) clearTimeout(this.#reconnect);
    this.#poll = this.#reconnect = null;
    this.#stopFallback();
    const client = this.#client;
    this.#client = null;
    this.#setConnected(false);
    // ended before a read in flight is awaited: a read hung in a partition ends with its connection
    const ended = client ? endClient(client) : Promise.resolve();
    await this.#reading?.catch(() => {});
    await ended;
  }

  /**
   * Reads the journal up to now, then runs `statement` on this same
   * connection with the seq taken in. Its answer proves what a flag cannot:
   * that the feed's connection carried a round trip just now, after every
   * change committed before the read was taken in. A statement given no
   * answer within `timeoutMs` counts the connection as lost (a partition
   * sends neither an error nor a reset), so the feed reconnects.
   */
  async caughtUp<R extends pg.QueryResultRow>(statement: (seq: number) => pg.QueryConfig, timeoutMs: number): Promise<pg.QueryResult<R>> {
    const client = this.#client;
    if (!client) throw new StoreUnavailableError('journal feed: not connected to PostgreSQL');
    // one reader at a time: wake-ups meanwhile read once more afterwards; a read hung in a partition is
    // not waited for past this statement's own time (its deadline will count the connection as lost)
    const waitUntil = performance.now() + timeoutMs;
    while (this.#reading) {
      if (!(await settlesWithin(this.#reading, waitUntil - performance.now()))) {
        throw new StoreUnavailableError(`journal feed: the read before this statement got no answer within ${timeoutMs} ms`);
      }
    }
    if (this.#client !== client) throw new StoreUnavailableError('journal feed: lost its PostgreSQL connection');
    const query = viaClient(client, timeoutMs);
    const work = (async () => {
      await this.#read(query);
      return query<R>(statement(this.appliedSeq));
    })();
    this.#reading = work.then(() => undefined, () => undefined).finally(() => {
      this.#reading = null;
      if (this.#again) this.#wake();
    });
    try {
      return await work;
    } catch (err) {
      if (isReadTimeout(err)) this.#lost(client, err as Error);
      throw err;
    }
  }

  /** Reads what is new now (a caller that knows a change committed need not wait for the notification). */
  async catchUp(): Promise<void> {
    this.#wake();
    await this.#reading;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#options.url,
      connectionTimeoutMillis: this.#options.connectionTimeoutMs ?? 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
      application_name: 'devicepass-journal',
      types: PG_TYPES,
    });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, null));
    client.on('notification', (message) => {
      if (message.channel === JOURNAL_CHANNEL) this.#wake();
    });
    const query = viaClient(client, this.#readTimeoutMs);
    try {
      await client.connect();
      await query({ text: `LISTEN ${JOURNAL_CHANNEL}` });
      if (this.#last < 0) {
        // past what was purged too: a node that starts now has missed nothing, even if the journal is empty
        const { rows } = await query<{ seq: number }>({
          text: 'SELECT GREATEST((SELECT max(seq) FROM revocation), (SELECT max(through) FROM journal_purged), 0) AS seq',
        });
        this.#last = rows[0]?.seq ?? 0;
        this.#gapTold = this.#last;
      }
    } catch (err) {
      client.removeAllListeners();
      client.on('error', () => {});
      await endClient(client);
      const message = scrubSecrets(this.#options.url, err instanceof Error ? err.message : String(err));
      throw new StoreUnavailableError(`journal feed: PostgreSQL at ${maskUrl(this.#options.url)} is unavailable: ${message}`, { cause: message });
    }
    if (!this.#running) {
      await endClient(client);
      return;
    }
    this.#client = client;
    this.#delay = this.#options.backoffMs?.first ?? 50;
    this.#setConnected(true);
    // anything committed while no connection listened
    this.#wake();
    await this.#reading;
  }

  #lost(client: pg.Client, err: Error | null): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#setConnected(false);
    if (!this.#running) return;
    this.#log.warn({ err: err ? { message: scrubSecrets(this.#options.url, err.message), code: (err as { code?: string }).code } : undefined },
      'journal feed lost its PostgreSQL connection; reconnecting');
    void endClient(client);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (!this.#running || this.#reconnect) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#options.backoffMs?.cap ?? 2_000);
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      this.#connect().catch(() => this.#scheduleReconnect());
    }, delay);
    this.#reconnect.unref();
  }

  /** One read at a time; a wake-up during a read makes it read once more. */
  #wake(): void {
    if (!this.#client && !this.#fallbackPoll) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#readLoop().finally(() => {
      this.#reading = null;
      // a read that failed returned without looking: a wake-up that came meanwhile is not lost with it
      if (this.#again) this.#wake();
    });
  }

  async #readLoop(): Promise<void> {
    do {
      this.#again = false;
      const client = this.#client;
      const fallback = this.#options.fallback;
      let query: JournalReader;
      if (client) query = viaClient(client, this.#readTimeoutMs);
      else if (this.#fallbackPoll && fallback) query = viaFallback(fallback, this.#readTimeoutMs);
      else return;
      try {
        await this.#read(query);
        if (!client && this.#fallbackFailing) {
          this.#fallbackFailing = false;
          this.#log.info('journal read through the pool again while the feed reconnects');
        }
      } catch (err) {
        if (!this.#running) return;
        const message = scrubSecrets(this.#options.url, (err as Error).message);
        if (client && isReadTimeout(err)) {
          // no answer in time and no error either: a partition; cut the connection, make it again, replay
          this.#lost(client, err as Error);
        } else if (client) {
          // the connection's own error/end events drive the reconnect; a failed read alone is retried by the poll
          this.#log.warn({ err: { message } }, 'journal feed could not read the journal');
        } else if (!this.#fallbackFailing) {
          this.#fallbackFailing = true;
          this.#log.warn({ err: { message } }, 'journal feed: the journal cannot be read through the pool either; retrying');
        }
        return;
      }
    } while (this.#again);
  }

  async #read(query: JournalReader): Promise<void> {
    const limit = this.#options.batchSize ?? 1_000;
    for (;;) {
      // one statement, one snapshot: the watermark and the rows agree
      const { rows } = await query<JournalRecord>({
        name: 'dp_journal_since',
        text: `SELECT p.purged, r.seq, r.address, r.device_id, r.reason, r.cuts
          FROM (SELECT coalesce(max(through), 0) AS purged FROM journal_purged) p
          LEFT JOIN LATERAL (SELECT seq, address, device_id, reason, cuts FROM revocation WHERE seq > $1 ORDER BY seq LIMIT $2) r ON true
          ORDER BY r.seq`,
        values: [this.#last, limit],
      });
      const purged = rows[0]?.purged ?? 0;
      if (purged > this.#last && purged > this.#gapTold) this.#tellGap({ after: this.#last, through: purged });
      let read = 0;
      for (const row of rows) {
        if (row.seq === null) continue;
        read++;
        // a read given up on may still answer after a newer one did: what was delivered is not delivered again
        if (row.seq <= this.#last) continue;
        const entry: JournalEntry = { seq: row.seq, address: row.address, deviceId: row.device_id, reason: row.reason, cuts: row.cuts };
        for (const listener of this.#entryListeners) {
          try {
            listener(entry);
          } catch (err) {
            this.#log.error({ err }, 'a journal listener failed');
          }
        }
        this.#last = row.seq;
      }
      if (read === 0) return;
      for (const listener of this.#appliedListeners) {
        try {
          listener(this.#last);
        } catch (err) {
          this.#log.error({ err }, 'a journal listener failed');
        }
      }
      if (read < limit) return;
    }
  }

  #tellGap(gap: JournalGap): void {
    this.#gapTold = gap.through;
    this.#log.error(gap, 'journal entries this node had not read were purged (it was cut off longer than the journal is kept): '
      + 'dropping what it holds in memory');
    for (const listener of this.#gapListeners) {
      try {
        listener(gap);
      } catch (err) {
        this.#log.error({ err }, 'a journal gap listener failed');
      }
    }
  }

  #setConnected(up: boolean): void {
    if (this.#connected === up) return;
    this.#connected = up;
    if (up) this.#stopFallback();
    else this.#startFallback();
    for (const listener of this.#connectionListeners) {
      try {
        listener(up);
      } catch (err) {
        this.#log.error({ err }, 'a journal connection listener failed');
      }
    }
  }

  /** While the connection is down: the journal through the fallback reader, every fallbackIntervalMs. */
  #startFallback(): void {
    if (!this.#running || !this.#options.fallback || this.#fallbackPoll || this.#last < 0) return;
    this.#fallbackPoll = setInterval(() => this.#wake(), this.#options.fallbackIntervalMs ?? 50);
    this.#fallbackPoll.unref();
    this.#wake();
  }

  #stopFallback(): void {
    if (this.#fallbackPoll) clearInterval(this.#fallbackPoll);
    this.#fallbackPoll = null;
    this.#fallbackFailing = false;
  }
}

/** Statements on the feed's connection, each with a deadline. */
function viaClient(client: pg.Client, timeoutMs: number): JournalReader {
  // query_timeout per statement is read by pg's Client.query, though its QueryConfig type leaves it out
  return (config) => client.query({ ...config, query_timeout: timeoutMs } as pg.QueryConfig);
}

/**
 * A read through the pool, given up on after `timeoutMs` from the call: the
 * statement's own query_timeout starts only once the pool hands out a
 * connection, and waiting for one must not hold up the feed's reconnect or
 * its stop. A read given up on may still answer later; #read delivers
 * nothing twice.
 */
function viaFallback(fallback: JournalReader, timeoutMs: number): JournalReader {
  return async <R extends pg.QueryResultRow>(config: pg.QueryConfig) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`journal read through the pool got no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([fallback<R>({ ...config, query_timeout: timeoutMs } as pg.QueryConfig), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** pg's answer when a statement's query_timeout passed without a reply. */
function isReadTimeout(err: unknown): boolean {
  return err instanceof Error && /Query read timeout/.test(err.message);
}

/** Whether `promise` settles (either way) within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Ends a connection politely, and cuts it when the goodbye cannot go through
 * (a partition: no answer, no reset) so nothing waits on it for long.
 */
function endClient(client: pg.Client): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.connection.stream.destroy();
      resolve();
    }, END_GRACE_MS);
    client.end().catch(() => {}).finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
