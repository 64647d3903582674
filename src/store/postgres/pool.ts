/**
 * The connection pool every PostgreSQL module shares: bounded, with a
 * statement timeout and a connection timeout, bigint columns read as numbers,
 * and one error class for "the database cannot be reached right now" that
 * callers treat as temporary (a cold login answers a temporary failure, never
 * "wrong password"). No password reaches a log line or an error text.
 */
import pg from 'pg';
import { maskUrl } from '../../log/mask-url.js';

// the one masker, shared with --check-config; re-exported for the modules of this driver
export { maskUrl };

export interface PgPoolOptions {
  /** `[store] url`; parts it leaves out come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (pg reads them). */
  url: string;
  /** At most this many connections (the feed's listening connection is not one of them). */
  max?: number;
  /** A statement running longer is cancelled: a stuck query must not hold a login forever. */
  statementTimeoutMs?: number;
  /** Giving up on a new connection after this long. */
  connectionTimeoutMs?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
}

export const POOL_DEFAULTS = { max: 10, statementTimeoutMs: 15_000, connectionTimeoutMs: 5_000 } as const;

/**
 * While health is failing, asking for it sends a `SELECT 1` at most this
 * often: a node taken out of a load balancer on its 503 gets no logins, so
 * nothing else would find out that the server is back.
 */
const HEALTH_PROBE_MS = 1_000;

/**
 * bigint (int8) columns hold ids, generations and epoch milliseconds, all far
 * below 2^53: numbers, as SQLite gives them. pg's default is a string.
 */
const INT8_OID = 20;
const parseInt8 = (text: string): number => Number(text);
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** The database cannot be reached or did not answer in time: try again later; nothing was changed unless said otherwise. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly temporary = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** TEXT without any password the URL (or PGPASSWORD) carries. */
export function scrubSecrets(url: string, text: string): string {
  let out = text;
  for (const secret of secretsOf(url)) out = out.split(secret).join('***');
  return out;
}

/**
 * Every secret the URL and the environment can carry, to scrub from error
 * texts: each password as written in the URL and, when it decodes, as
 * decoded (a stray % must not make us give up on the rest). Longest first,
 * so a secret that contains another is scrubbed whole.
 */
function secretsOf(url: string): string[] {
  const secrets = new Set<string>();
  const add = (secret: string | null | undefined): void => {
    if (secret) secrets.add(secret);
  };
  const parsed = parseAsPg(url);
  if (parsed) {
    add(parsed.password);
    add(decodedOrNull(parsed.password));
    // the query as written, and as URLSearchParams decodes it ("+" is a space; a stray % stays): pg reads the latter
    for (const pair of parsed.search.slice(1).split('&')) {
      const at = pair.indexOf('=');
      if (at > 0 && /^(password|sslpassword)$/i.test(decodedOrNull(pair.slice(0, at)) ?? '')) add(pair.slice(at + 1));
    }
    for (const [key, value] of parsed.searchParams) if (/^(password|sslpassword)$/i.test(key)) add(value);
  }
  add(process.env.PGPASSWORD);
  return [...secrets].sort((a, b) => b.length - a.length);
}

/**
 * The URL as pg-connection-string reads it: against a base (so a relative
 * one parses), and with a placeholder host when it has credentials but no
 * host (postgres://u:pw@/db, the socket coming from PGHOST).
 */
function parseAsPg(url: string): URL | null {
  try {
    return new URL(url, 'postgres://base');
  } catch {
    try {
      return new URL(url.replace('@/', '@placeholder/'), 'postgres://base');
    } catch {
      // not a URL: nothing to pick out; maskUrl hides it whole
      return null;
    }
  }
}

function decodedOrNull(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOENT',
  // SQLSTATE: shutting down, crashed, starting up, too many connections, statement timeout / cancelled
  '57P01', '57P02', '57P03', '53300', '57014',
]);
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|not queryable|Query read timeout|connection timeout/i;

/** Whether an error means the database was out of reach (rather than refusing the statement). */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  return UNAVAILABLE_MESSAGES.test(err.message);
}

/** A query as the hot reads send it: a name makes pg prepare it once per connection. */
export interface NamedQuery {
  name?: string;
  text: string;
  values?: unknown[];
  /** Gives up on this statement sooner than the pool's own limit (pg reads it per query). */
  query_timeout?: number;
}

export interface PoolHealth {
  ok: boolean;
  detail: string;
  at: number;
}

/**
 * pg.Pool plus what the driver needs around it: errors mapped and scrubbed,
 * the outcome of the last round trip kept for health(), and transactions on
 * one client.
 */
export class PgPool {
  readonly pool: pg.Pool;
  readonly location: string;
  readonly #secrets: string[];
  #health: PoolHealth = { ok: false, detail: 'not connected yet', at: 0 };
  #queries = 0;
  #failures = 0;
  #probedAt = 0;
  #probing = false;
  #ended = false;

  constructor(options: PgPoolOptions) {
    this.location = maskUrl(options.url);
    this.#secrets = secretsOf(options.url);
    const statementTimeout = options.statementTimeoutMs ?? POOL_DEFAULTS.statementTimeoutMs;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? POOL_DEFAULTS.max,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? POOL_DEFAULTS.connectionTimeoutMs,
      statement_timeout: statementTimeout,
      // the server's timeout cannot fire when the server is gone: give up on our side a little later
      query_timeout: statementTimeout + 5_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: options.applicationName ?? 'devicepass',
      types: PG_TYPES,
    });
    // an idle client losing its connection (a server restart) must not crash the process: the pool drops it
    this.pool.on('error', (err) => this.#failed(err));
  }

  /** One statement on any pooled client. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(query: NamedQuery | string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      const result = typeof query === 'string' ? await this.pool.query<R>(query, values) : await this.pool.query<R>(query as pg.QueryConfig);
      this.#succeeded();
      return result;
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** BEGIN … COMMIT on one client; ROLLBACK on any error, and a client whose connection broke is discarded. */
  async transaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken: unknown = undefined;
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      this.#succeeded();
      return result;
    } catch (err) {
      broken = isUnavailable(err) ? err : undefined;
      if (!broken) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr;
        }
      }
      throw this.mapError(err);
    } finally {
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }

  /** A client of the pool for the caller to release (a bulk import holds one across many statements). */
  async connect(): Promise<pg.PoolClient> {
    try {
      const client = await this.pool.connect();
      this.#succeeded();
      return client;
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** Unavailable errors become StoreUnavailableError; every error text loses the password. */
  mapError(err: unknown): Error {
    if (!(err instanceof Error)) return new Error(this.scrub(String(err)));
    if (err instanceof StoreUnavailableError) return err;
    if (isUnavailable(err)) {
      this.#failed(err);
      const reason = this.scrub(err.message || (err as { code?: string }).code || 'no answer');
      return new StoreUnavailableError(`PostgreSQL at ${this.location} is unavailable: ${reason}`, { cause: this.#scrubbed(err) });
    }
    this.#succeeded(); // the server answered, if with a refusal
    return this.#scrubbed(err);
  }

  /** A statement that got no answer in time: the server is as good as gone, for health() too. */
  unanswered(what: string, ms: number): StoreUnavailableError {
    const err = new StoreUnavailableError(`PostgreSQL at ${this.location} did not answer ${what} within ${ms} ms`);
    this.#failed(err);
    return err;
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }

  #scrubbed(err: Error): Error {
    const message = this.scrub(err.message);
    if (message !== err.message) err.message = message;
    if (err.stack) err.stack = this.scrub(err.stack);
    return err;
  }

  /** The outcome of the last round trip; when that failed, asking also sends a probe behind it (see HEALTH_PROBE_MS). */
  get health(): PoolHealth {
    if (!this.#health.ok) this.#probe();
    return this.#health;
  }

  #probe(): void {
    const now = Date.now();
    // an ended pool refuses every query with an error that is no outage: asked during shutdown, health must stay as it was
    if (this.#ended || this.#probing || now - this.#probedAt < HEALTH_PROBE_MS) return;
    this.#probing = true;
    this.#probedAt = now;
    // query() records the outcome either way; the caller of health() does not wait for it
    void this.query('SELECT 1').catch(() => {}).finally(() => {
      this.#probing = false;
    });
  }

  stats(): Record<string, number> {
    return {
      poolTotal: this.pool.totalCount,
      poolIdle: this.pool.idleCount,
      poolWaiting: this.pool.waitingCount,
      queries: this.#queries,
      failures: this.#failures,
    };
  }

  async end(): Promise<void> {
    this.#ended = true;
    await this.pool.end();
  }

  #succeeded(): void {
    this.#queries++;
    if (!this.#health.ok) this.#health = { ok: true, detail: `connected to ${this.location}`, at: Date.now() };
    else this.#health.at = Date.now();
  }

  #failed(err: Error): void {
    this.#failures++;
    this.#health = { ok: false, detail: `PostgreSQL at ${this.location}: ${this.scrub(err.message || 'connection lost')}`, at: Date.now() };
  }
}
