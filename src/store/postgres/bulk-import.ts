/**
 * A passwd-file import as one PostgreSQL transaction on a client of its own.
 *
 * BulkImport.importGeneric answers synchronously (the caller feeds lines in
 * slices between event-loop turns), so the outcome of each line cannot wait
 * for a round trip. At the start the import takes the administrative write
 * lock exclusive (changes from every node wait until it commits, as they wait
 * for SQLite's write lock) and reads every address with its generic password;
 * each line is then decided against that snapshot, kept up to date line by
 * line, and its writes are queued. Queued lines go out in batches of set-based
 * statements (unnest) while the caller keeps feeding lines; commit() waits
 * for the last batch, writes the journal rows and commits. All or nothing: a
 * failed batch fails the import, and a lost connection discards it.
 */
import type pg from 'pg';
import type { BulkImport, ImportOutcome } from '../types.js';
import { insertEvents } from './events.js';
import { WRITE_LOCK_KEY, writeJournal, type JournalRow } from './journal.js';
import type { PgPool } from './pool.js';
import type { AuditEvent } from '../types.js';

/** Lines per batch: large enough to amortise the round trips, small enough to keep each statement short. */
const BATCH = 5_000;

/** What the import knows of one address: from the snapshot, then from its own lines. */
interface AddressState {
  /** null until the batch creating the address ran. */
  id: number | null;
  /** The generic device: absent, or its id (null until created) and active password. */
  generic: { id: number | null; revoked: boolean; scheme: string | null; hash: string | null } | null;
}

interface Line {
  address: string;
  state: AddressState;
  salt: Buffer;
  scheme: string;
  hash: string;
  actor: string;
  at: number;
  newAddress: boolean;
  outcome: 'imported' | 'replaced';
}

export class PgBulkImport implements BulkImport {
  readonly #pool: PgPool;
  readonly #client: pg.PoolClient;
  readonly #addresses: Map<string, AddressState>;
  readonly #afterChange: ((seq: number) => Promise<void>) | undefined;
  readonly #journal: JournalRow[] = [];
  #batch: Line[] = [];
  #inBatch = new Set<string>();
  #flushing: Promise<void> = Promise.resolve();
  #error: unknown = undefined;
  #open = true;

  private constructor(pool: PgPool, client: pg.PoolClient, addresses: Map<string, AddressState>, afterChange?: (seq: number) => Promise<void>) {
    this.#pool = pool;
    this.#client = client;
    this.#addresses = addresses;
    this.#afterChange = afterChange;
  }

  static async begin(pool: PgPool, afterChange?: (seq: number) => Promise<void>): Promise<PgBulkImport> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      // an import of many lines may run longer than one statement is allowed to
      await client.query('SET LOCAL statement_timeout = 0');
      await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY]);
      const { rows } = await client.query<{
        id: number; address: string; generic_id: number | null; generic_state: string | null; scheme: string | null; hash: string | null;
      }>(`SELECT a.id, a.address, d.id AS generic_id, d.state AS generic_state, c.legacy_scheme AS scheme, c.legacy_hash AS hash
        FROM address a
        LEFT JOIN device d ON d.address_id = a.id AND d.kind = 'generic'
        LEFT JOIN credential c ON c.device_id = d.id AND c.state = 'active'`);
      const addresses = new Map<string, AddressState>();
      for (const row of rows) {
        addresses.set(row.address, {
          id: row.id,
          generic: row.generic_id === null
            ? null
            : { id: row.generic_id, revoked: row.generic_state === 'revoked', scheme: row.scheme, hash: row.hash },
        });
      }
      return new PgBulkImport(pool, client, addresses, afterChange);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      throw pool.mapError(err);
    }
  }

  importGeneric(address: string, salt: Buffer, scheme: string, hash: string, actor: string): ImportOutcome {
    if (!this.#open) throw new Error('the bulk import is finished');
    if (this.#error !== undefined) throw this.#pool.mapError(this.#error);
    let state = this.#addresses.get(address);
    const newAddress = state === undefined;
    if (!state) {
      state = { id: null, generic: null };
      this.#addresses.set(address, state);
    }
    const generic = state.generic;
    if (generic?.revoked) return 'revoked';
    // re-running the same import must not cut the sessions of clients using it
    if (generic && generic.scheme === scheme && generic.hash === hash) return 'unchanged';
    const outcome = generic ? 'replaced' : 'imported';
    if (generic) {
      generic.scheme = scheme;
      generic.hash = hash;
    } else {
      state.generic = { id: null, revoked: false, scheme, hash };
    }
    // one line per address per batch: a later line for the same address goes out after the batch that names its ids
    if (this.#inBatch.has(address)) this.#send();
    this.#batch.push({ address, state, salt, scheme, hash, actor, at: Date.now(), newAddress, outcome });
    this.#inBatch.add(address);
    if (this.#batch.length >= BATCH) this.#send();
    return outcome;
  }

  async commit(): Promise<void> {
    if (!this.#open) throw new Error('the bulk import is finished');
    this.#send();
    this.#open = false;
    let seq = 0;
    let broken: Error | undefined;
    try {
      await this.#flushing;
      if (this.#error !== undefined) throw this.#error;
      seq = await writeJournal(this.#client, this.#journal);
      await this.#client.query('COMMIT');
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      await this.#client.query('ROLLBACK').catch(() => {});
      throw this.#pool.mapError(err);
    } finally {
      this.#client.release(broken);
    }
    if (seq > 0 && this.#afterChange) await this.#afterChange(seq);
  }

  rollback(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#batch = [];
    const client = this.#client;
    void this.#flushing
      .then(() => client.query('ROLLBACK'))
      .then(() => client.release(), (err: unknown) => client.release(err instanceof Error ? err : true));
  }

  /** Queues the current batch behind the previous one. */
  #send(): void {
    if (this.#batch.length === 0) return;
    const lines = this.#batch;
    this.#batch = [];
    this.#inBatch = new Set();
    this.#flushing = this.#flushing.then(async () => {
      if (this.#error !== undefined) return;
      try {
        await this.#write(lines);
      } catch (err) {
        this.#error = err;
      }
    });
  }

  async #write(lines: Line[]): Promise<void> {
    const client = this.#client;
    const fresh = lines.filter((l) => l.newAddress);
    if (fresh.length > 0) {
      const { rows } = await client.query<{ id: number; address: string }>(
        // generation 2: created (1) and given its generic (+1) at once, as one import would leave it
        `INSERT INTO address (address, salt, created_at, created_by, generation)
          SELECT *, 2 FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::text[]) RETURNING id, address`,
        [fresh.map((l) => l.address), fresh.map((l) => l.salt), fresh.map((l) => l.at), fresh.map((l) => l.actor)],
      );
      const ids = new Map(rows.map((r) => [r.address, r.id]));
      for (const line of fresh) line.state.id = ids.get(line.address)!;
    }
    const created = lines.filter((l) => l.outcome === 'imported');
    if (created.length > 0) {
      const { rows } = await client.query<{ id: number; address_id: number }>(
        `INSERT INTO device (address_id, kind, name, "user", scopes, state, created_at, created_by, expires_at)
          SELECT a, 'generic', 'generic', NULL, 'imap,smtp,pop3', 'active', t, actor, NULL
          FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(a, t, actor) RETURNING id, address_id`,
        [created.map((l) => l.state.id), created.map((l) => l.at), created.map((l) => l.actor)],
      );
      const ids = new Map(rows.map((r) => [r.address_id, r.id]));
      for (const line of created) line.state.generic!.id = ids.get(line.state.id!)!;
    }
    const replaced = lines.filter((l) => l.outcome === 'replaced');
    if (replaced.length > 0) {
      await client.query(
        `UPDATE credential SET state = 'reset-away', retired_at = u.at
          FROM unnest($1::bigint[], $2::bigint[]) AS u(device_id, at)
          WHERE credential.device_id = u.device_id AND credential.state = 'active'`,
        [replaced.map((l) => l.state.generic!.id), replaced.map((l) => l.at)],
      );
    }
    await client.query(
      `INSERT INTO credential (address_id, device_id, digest, params, legacy_scheme, legacy_hash, state, created_at)
        SELECT a, d, NULL, NULL, s, h, 'active', t FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS u(a, d, s, h, t)`,
      [lines.map((l) => l.state.id), lines.map((l) => l.state.generic!.id), lines.map((l) => l.scheme), lines.map((l) => l.hash), lines.map((l) => l.at)],
    );
    const known = lines.filter((l) => !l.newAddress);
    if (known.length > 0) {
      await client.query('UPDATE address SET generation = generation + 1 WHERE id = ANY($1::bigint[])', [known.map((l) => l.state.id)]);
    }
    const events: AuditEvent[] = [];
    for (const line of lines) {
      if (line.newAddress) events.push({ at: line.at, type: 'address.add', address: line.address, actor: line.actor });
      events.push({
        at: line.at, type: 'generic.import', address: line.address, deviceId: line.state.generic!.id, deviceName: 'generic', actor: line.actor,
        detail: { scheme: line.scheme, outcome: line.outcome },
      });
      this.#journal.push(line.outcome === 'replaced'
        ? { address: line.address, deviceId: line.state.generic!.id, reason: 'generic-replaced', cuts: true }
        : { address: line.address, deviceId: line.state.generic!.id, reason: 'generic-imported', cuts: false });
    }
    await insertEvents(client, events);
  }
}
