/**
 * What a login reads, from PostgreSQL. The hot reads are named statements:
 * pg prepares each once per pooled connection and then sends only the
 * values. This plain layer cannot vouch for anything without a round trip:
 * the peek reads answer UNKNOWN, and the cluster layer (an in-memory mirror
 * kept current by the journal) wraps it to answer them.
 */
import type pg from 'pg';
import { UNKNOWN, type LoginReads, type Unknown } from '../driver.js';
import type { AddressRow, CredentialView, LegacyCredential } from '../types.js';
import type { NamedQuery, PgPool } from './pool.js';
import { ADDRESS_COLUMNS, CREDENTIAL_SELECT, toAddress, toCredential, type AddressRecord, type CredentialRecord } from './rows.js';

const SQL = {
  address: { name: 'dp_address', text: `SELECT ${ADDRESS_COLUMNS} FROM address WHERE address = $1` },
  generation: { name: 'dp_generation', text: 'SELECT generation FROM address WHERE id = $1' },
  credentialById: { name: 'dp_credential_by_id', text: `${CREDENTIAL_SELECT} WHERE c.id = $1` },
  // an active row wins over a tombstone carrying the same digest (a password reused after a revoke)
  credentialByDigest: {
    name: 'dp_credential_by_digest',
    text: `${CREDENTIAL_SELECT} WHERE c.address_id = $1 AND c.digest = $2 ORDER BY (c.state = 'active') DESC, c.id DESC LIMIT 1`,
  },
  paramSets: { name: 'dp_param_sets', text: 'SELECT DISTINCT params FROM credential WHERE address_id = $1 AND params IS NOT NULL' },
  // bounded: each candidate costs a legacy hash on a failed login
  pendingLegacy: {
    name: 'dp_pending_legacy',
    text: `SELECT id, legacy_scheme AS scheme, legacy_hash AS hash FROM credential
      WHERE address_id = $1 AND digest IS NULL AND legacy_hash IS NOT NULL ORDER BY (state = 'active') DESC, id DESC LIMIT 3`,
  },
  // never waits: a row locked by an administrative change (a replaced generic) is left for a later login
  upgradeLegacy: {
    name: 'dp_upgrade_legacy',
    text: `UPDATE credential SET digest = $1, params = $2
      WHERE id = (SELECT id FROM credential WHERE id = $3 AND state = 'active' AND digest IS NULL FOR UPDATE SKIP LOCKED)`,
  },
} as const;

/**
 * How long a login waits for one read. A primary-key read answers in well
 * under a millisecond; one that has not answered in this time is a database
 * out of reach (a partition sends no error, and the pool's own timeouts are
 * sized for administrative writes): the client gets a temporary failure now
 * rather than a silent minute.
 */
export const LOGIN_READ_DEADLINE_MS = 2_000;

export class PgLoginReads implements LoginReads {
  readonly #pool: PgPool;
  readonly #deadlineMs: number;

  constructor(pool: PgPool, deadlineMs = LOGIN_READ_DEADLINE_MS) {
    this.#pool = pool;
    this.#deadlineMs = deadlineMs;
  }

  /** The query, or StoreUnavailableError once the deadline passed (the query itself runs on and is dropped). */
  #query<R extends pg.QueryResultRow>(query: NamedQuery): Promise<pg.QueryResult<R>> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#pool.unanswered('a login read', this.#deadlineMs)), this.#deadlineMs);
    });
    const answer = this.#pool.query<R>(query);
    answer.catch(() => {}); // a late failure has nobody left to tell
    return Promise.race([answer, late]).finally(() => clearTimeout(timer));
  }

  async findAddress(address: string): Promise<AddressRow | undefined> {
    const { rows } = await this.#query<AddressRecord>({ ...SQL.address, values: [address] });
    return rows[0] && toAddress(rows[0]);
  }

  async addressGeneration(addressId: number): Promise<number | undefined> {
    const { rows } = await this.#query<{ generation: number }>({ ...SQL.generation, values: [addressId] });
    return rows[0]?.generation;
  }

  async credentialById(id: number): Promise<CredentialView | undefined> {
    const { rows } = await this.#query<CredentialRecord>({ ...SQL.credentialById, values: [id] });
    return rows[0] && toCredential(rows[0]);
  }

  async credentialByDigest(addressId: number, digest: Buffer): Promise<CredentialView | undefined> {
    const { rows } = await this.#query<CredentialRecord>({ ...SQL.credentialByDigest, values: [addressId, digest] });
    return rows[0] && toCredential(rows[0]);
  }

  async digestParamSets(addressId: number): Promise<string[]> {
    const { rows } = await this.#query<{ params: string }>({ ...SQL.paramSets, values: [addressId] });
    return rows.map((r) => r.params);
  }

  async pendingLegacy(addressId: number): Promise<LegacyCredential[]> {
    const { rows } = await this.#query<LegacyCredential>({ ...SQL.pendingLegacy, values: [addressId] });
    return rows.map((r) => ({ id: r.id, scheme: r.scheme, hash: r.hash }));
  }

  async upgradeLegacy(credentialId: number, digest: Buffer, params: string): Promise<void> {
    await this.#query({ ...SQL.upgradeLegacy, values: [digest, params, credentialId] });
  }

  peekAddress(_address: string): AddressRow | undefined | Unknown {
    return UNKNOWN;
  }

  peekGeneration(_addressId: number): number | undefined | Unknown {
    return UNKNOWN;
  }

  peekCredential(_id: number): CredentialView | undefined | Unknown {
    return UNKNOWN;
  }

  /** Nothing is vouched for here, so nothing can be taken in "since": every decision awaits its reads. */
  mark(): number {
    return 0;
  }

  changedSince(_mark: number, _address: string): boolean {
    return false;
  }
}
