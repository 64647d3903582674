/**
 * Follows the revocation journal for this node. A dedicated connection
 * LISTENs on the journal channel; a notification is only a wake-up (NOTIFY
 * reaches only connected listeners, and only after commit): each wake-up, the
 * start, every reconnect and a cheap poll every second read the table from
 * the last sequence seen, so nothing is missed across a lost connection or a
 * server restart. Entries reach the listeners in sequence order, at least
 * once.
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
}

interface JournalRecord { seq: number; address: string; device_id: number | null; reason: string; cuts: boolean }

export class PgJournalFeed implements RevocationFeed {
  readonly #options: PgJournalFeedOptions;
  readonly #log: Logger;
  readonly #entryListeners: Array<(entry: JournalEntry) => void> = [];
  readonly #appliedListeners: Array<(seq: number) => void> = [];
  readonly #connectionListeners: Array<(up: boolean) => void> = [];
  #client: pg.Client | null = null;
  #last: number;
  #connected = false;
  #running = false;
  #reading: Promise<void> | null = null;
  #again = false;
  #poll: NodeJS.Timeout | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  #delay: number;

  constructor(options: PgJournalFeedOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#last = options.fromSeq ?? -1;
    this.#delay = options.backoffMs?.first ?? 50;
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
    const client = this.#client;
    this.#client = null;
    await this.#reading?.catch(() => {});
    this.#setConnected(false);
    await client?.end().catch(() => {});
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
    // one reader at a time: wake-ups meanwhile read once more afterwards
    while (this.#reading) await this.#reading.catch(() => {});
    const work = (async () => {
      await this.#read(client, timeoutMs);
      // query_timeout per statement is read by pg's Client.query, though its QueryConfig type leaves it out
      return client.query<R>({ ...statement(this.appliedSeq), query_timeout: timeoutMs } as pg.QueryConfig);
    })();
    this.#reading = work.then(() => undefined, () => undefined).finally(() => {
      this.#reading = null;
      if (this.#again) this.#wake();
    });
    try {
      return await work;
    } catch (err) {
      if (/Query read timeout/.test((err as Error).message)) this.#lost(client, err as Error);
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
      application_name: 'devicepass-journal',
      types: PG_TYPES,
    });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, null));
    client.on('notification', (message) => {
      if (message.channel === JOURNAL_CHANNEL) this.#wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${JOURNAL_CHANNEL}`);
      if (this.#last < 0) {
        const { rows } = await client.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM revocation');
        this.#last = rows[0]?.seq ?? 0;
      }
    } catch (err) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
      const message = scrubSecrets(this.#options.url, err instanceof Error ? err.message : String(err));
      throw new StoreUnavailableError(`journal feed: PostgreSQL at ${maskUrl(this.#options.url)} is unavailable: ${message}`, { cause: message });
    }
    if (!this.#running) {
      await client.end().catch(() => {});
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
    client.end().catch(() => {});
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
    if (!this.#client) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#readLoop().finally(() => {
      this.#reading = null;
    });
  }

  async #readLoop(): Promise<void> {
    do {
      this.#again = false;
      const client = this.#client;
      if (!client) return;
      try {
        await this.#read(client);
      } catch (err) {
        // the connection's own error/end events drive the reconnect; a failed read alone is retried by the poll
        this.#log.warn({ err: { message: scrubSecrets(this.#options.url, (err as Error).message) } }, 'journal feed could not read the journal');
        return;
      }
    } while (this.#again);
  }

  async #read(client: pg.Client, timeoutMs?: number): Promise<void> {
    const limit = this.#options.batchSize ?? 1_000;
    for (;;) {
      const { rows } = await client.query<JournalRecord>({
        name: 'dp_journal_since',
        text: 'SELECT seq, address, device_id, reason, cuts FROM revocation WHERE seq > $1 ORDER BY seq LIMIT $2',
        values: [this.#last, limit],
        ...(timeoutMs ? { query_timeout: timeoutMs } : {}),
      } as pg.QueryConfig);
      if (rows.length === 0) return;
      for (const row of rows) {
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
      for (const listener of this.#appliedListeners) {
        try {
          listener(this.#last);
        } catch (err) {
          this.#log.error({ err }, 'a journal listener failed');
        }
      }
      if (rows.length < limit) return;
    }
  }

  #setConnected(up: boolean): void {
    if (this.#connected === up) return;
    this.#connected = up;
    for (const listener of this.#connectionListeners) {
      try {
        listener(up);
      } catch (err) {
        this.#log.error({ err }, 'a journal connection listener failed');
      }
    }
  }
}
