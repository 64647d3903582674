/**
 * Several nodes on one PostgreSQL (docs/cluster.md, docs/design.md
 * "Revocation across nodes"). Each node holds a lease in the `node` table
 * and acknowledges there every journal entry it has taken in. A change
 * commits, then returns only once every node with a live lease has
 * acknowledged its sequence number (or let its lease lapse). So a node may
 * answer proof-cache hits from its in-memory mirror of credential rows while
 * its own lease holds and its journal feed is connected; once either fails
 * it drops the mirror and reads PostgreSQL on every hit until both are back.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { warnCaller } from '../../errors/warnings.js';
import type { Logger } from '../../log/logger.js';
import { UNKNOWN, type JournalEntry, type LoginReads, type StoreDriver, type StoreHealth, type Unknown } from '../driver.js';
import type { AddressRow, CredentialView } from '../types.js';
import { openPostgresDriver, type PostgresDriver } from './index.js';
import type { PgJournalFeed } from './journal-feed.js';
import type { PgPool } from './pool.js';

export interface ClusterDriverOptions {
  url: string;
  maxEvents: number;
  log: Logger;
  poolSize: number;
  leaseMs: number;
  /** Credential rows and address rows the mirror holds at most. */
  cacheSize: number;
  /** `[store] feed_url`: the journal feed's own way to PostgreSQL (default: url). */
  feedUrl?: string;
}

/** The share of a lease a node counts on: its clock may run a little slower than the database's. */
const LEASE_TRUST = 0.8;
/** Renewals per lease period: three may be missed before it lapses. */
const RENEWALS_PER_LEASE = 4;
/** How often a change waiting for acknowledgements looks again. */
const ACK_POLL_MS = 2;
/** How soon a failed acknowledgement check is tried again. */
const CHECK_RETRY_MS = 50;
/** Leases of nodes gone for this long are deleted. */
const STALE_NODE_MS = 86_400_000;
/** What a stopping node waits for its last writes at most: a partition must not hold up SIGTERM. */
const STOP_WAIT_MS = 1_000;

/**
 * This node's row in `node`: renewed while the journal feed is connected
 * (a node that cannot hear about changes must not look alive to the nodes
 * waiting on it), carrying the last sequence it has taken in.
 */
export class NodeLease {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #pool: PgPool;
  readonly #feed: PgJournalFeed;
  readonly #leaseMs: number;
  readonly #log: Logger;
  /** performance.now() until which this node counts its lease as held. */
  #validUntil = 0;
  #timer: NodeJS.Timeout | null = null;
  #acking: Promise<void> | null = null;
  #ackWanted = 0;
  #stopped = false;
  readonly #lapseListeners: Array<() => void> = [];
  #held = false;
  #renewing = false;

  constructor(pool: PgPool, feed: PgJournalFeed, leaseMs: number, log: Logger) {
    this.#pool = pool;
    this.#feed = feed;
    this.#leaseMs = leaseMs;
    this.#log = log;
    feed.onApplied((seq) => this.#ack(seq));
    // deaf for a moment is enough: what was missed meanwhile may be anything the mirror holds
    feed.onConnectionChange((up) => {
      if (!up) this.#lapse();
    });
    // entries this node never read were purged: whatever it holds may be what they changed
    feed.onGap(() => this.#lapse());
  }

  #lapse(): void {
    this.#validUntil = 0;
    if (!this.#held) return;
    this.#held = false;
    for (const listener of this.#lapseListeners) listener();
  }

  /** Whether this node may trust what it holds in memory: its lease holds and its feed hears every change. */
  held(): boolean {
    const held = this.#feed.connected && performance.now() < this.#validUntil;
    if (!held) this.#lapse();
    return held;
  }

  /** Told, synchronously, when the lease is found lapsed: what was trusted under it must go. */
  onLapse(listener: () => void): void {
    this.#lapseListeners.push(listener);
  }

  async start(): Promise<void> {
    await this.#renew(true);
    this.#timer = setInterval(() => void this.#renew(false), Math.max(10, Math.floor(this.#leaseMs / RENEWALS_PER_LEASE)));
    this.#timer.unref();
  }

  async #renew(first: boolean): Promise<void> {
    if (this.#stopped) return;
    // a lease that ran out (the process was stalled, renewals failed) is found out before a new one is counted on
    this.held();
    // one renewal at a time: those sent into a partition must not pile up behind each other
    if (this.#renewing) return;
    this.#renewing = true;
    try {
      await this.#renewOnce(first);
    } finally {
      this.#renewing = false;
    }
  }

  async #renewOnce(first: boolean): Promise<void> {
    // deaf to changes made elsewhere: let the lease lapse so no one waits on this node and its mirror goes
    if (!this.#feed.connected && !first) {
      this.held();
      return;
    }
    const sentAt = performance.now();
    try {
      // on the feed's own connection, right after it read the journal: a node renews only what it has heard
      await this.#feed.caughtUp((seq) => ({
        name: 'devicepass-lease',
        text: `INSERT INTO node (id, seq, lease_until, host) VALUES ($1, $2, now() + $3 * interval '1 millisecond', $4)
          ON CONFLICT (id) DO UPDATE SET seq = GREATEST(node.seq, excluded.seq), lease_until = excluded.lease_until`,
        values: [this.id, seq, this.#leaseMs, hostname()],
      }), this.#leaseMs);
      // counted from before the request left: the database's lease ends later than this node's, never earlier
      if (this.#feed.connected) {
        // the lease this one extends may have run out while it was on its way (no tick looked in between):
        // that lapse is taken (the mirror goes) before the new lease is counted, never skipped
        this.held();
        this.#validUntil = sentAt + this.#leaseMs * LEASE_TRUST;
        this.#held = true;
      }
    } catch (err) {
      if (first) throw err;
      this.#log.warn({ err: { message: (err as Error).message } }, 'could not renew this node\'s lease; answering from PostgreSQL only until it is back');
      this.held();
    }
  }

  /** Records that entries up to `seq` were taken in; one write at a time, the newest wins. */
  #ack(seq: number): void {
    this.#ackWanted = Math.max(this.#ackWanted, seq);
    if (this.#acking) return;
    this.#acking = (async () => {
      let written = 0;
      while (written < this.#ackWanted && !this.#stopped) {
        const seqNow = this.#ackWanted;
        try {
          await this.#pool.query({ name: 'devicepass-ack', text: 'UPDATE node SET seq = GREATEST(seq, $2) WHERE id = $1', values: [this.id, seqNow] });
          written = seqNow;
        } catch {
          // the renewal carries the sequence too, once the database is back
          break;
        }
      }
      this.#acking = null;
    })();
  }

  /**
   * Resolves once every node with a live lease (this one included) has
   * taken in `seq`, or its lease has lapsed by the database's clock. Called
   * right after COMMIT: whatever happens here, the change is made, so this
   * never fails; what it could not confirm it tells the caller (warnCaller)
   * and the log.
   *
   * - A node that keeps renewing without ever acknowledging is a fault
   *   (a renewal carries the seq it read): after three leases it is named
   *   and the change returns.
   * - When the check itself fails (this node lost PostgreSQL after COMMIT),
   *   it is retried until one lease has passed since the commit: by then
   *   every node has either taken the change in or stopped trusting its
   *   mirror (a node renews only after reading the journal, and counts its
   *   lease from before that read), as if this node had seen their leases
   *   lapse.
   */
  async settled(seq: number): Promise<void> {
    const committedAt = performance.now();
    void this.#feed.catchUp();
    const giveUpAt = committedAt + 3 * this.#leaseMs;
    for (;;) {
      let rows: Array<{ id: string }>;
      try {
        ({ rows } = await this.#pool.query<{ id: string }>({
          name: 'devicepass-unacknowledged',
          text: 'SELECT id FROM node WHERE lease_until > now() AND seq < $1',
          values: [seq],
          // a check that hangs (a partition, a lock) is given up at the lease, not the pool's statement timeout
          query_timeout: this.#leaseMs,
        }));
      } catch (err) {
        if (performance.now() - committedAt < this.#leaseMs) {
          await sleep(CHECK_RETRY_MS);
          continue;
        }
        const message = (err as Error).message;
        this.#log.warn({ seq, err: { message } }, 'a change is committed, but whether every node took it in could not be checked; waited out one lease instead');
        warnCaller(`the change is committed, but this node could not check that every node took it in (${message}); `
          + 'it waited one lease instead, after which no node accepts what it revoked; sessions on a node that did not take it in end when that node catches up');
        return;
      }
      if (rows.length === 0) return;
      if (performance.now() > giveUpAt) {
        const nodes = rows.map((r) => r.id);
        this.#log.error({ seq, nodes }, 'nodes renew their lease but do not acknowledge a change; it is committed, their caches may lag');
        warnCaller(`the change is committed, but these nodes renew their lease without acknowledging it and may still accept what it revoked from memory: ${nodes.join(', ')}; check their logs and versions`);
        return;
      }
      await sleep(ACK_POLL_MS);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#validUntil = 0;
    if (this.#acking) await Promise.race([this.#acking, sleep(STOP_WAIT_MS, undefined, { ref: false })]);
    // a node that stopped must not make changes wait for its lease to run out
    // raced against a timer: query_timeout starts only once the pool hands out a connection, which a partition delays
    const deleted = this.#pool.query({
      text: 'DELETE FROM node WHERE id = $1 OR lease_until < now() - $2 * interval \'1 millisecond\'',
      values: [this.id, STALE_NODE_MS],
      query_timeout: STOP_WAIT_MS,
    }).catch(() => {});
    await Promise.race([deleted, sleep(STOP_WAIT_MS, undefined, { ref: false })]);
  }
}

/**
 * The login reads with a mirror in front: rows read from PostgreSQL are kept
 * and answer the synchronous peeks while the lease is held. A journal entry
 * drops what it names (by device, by address); a lapse drops everything. A
 * read that overlapped an entry or a lapse is used for its own answer (the
 * Authenticator decides again, see changedSince) but not kept.
 */
export class MirroredReads implements LoginReads {
  readonly #inner: LoginReads;
  readonly #lease: NodeLease;
  readonly #credentials: LRUCache<number, CredentialView>;
  readonly #addresses: LRUCache<string, AddressRow>;
  readonly #addressById = new Map<number, string>();
  /** Changes taken in (and lapses), counted: a read keeps what it read only if this did not move meanwhile. */
  #epoch = 1;
  /** The epoch at which each address last changed; bounded, and what fell out is covered by #forgottenBefore. */
  readonly #changedAt: LRUCache<string, number>;
  #forgottenBefore = 0;
  #lapsedAt = 0;

  constructor(inner: LoginReads, lease: NodeLease, size: number) {
    this.#inner = inner;
    this.#lease = lease;
    const max = Math.max(100, size);
    this.#credentials = new LRUCache({ max });
    this.#addresses = new LRUCache({ max, dispose: (row) => this.#addressById.delete(row.id) });
    this.#changedAt = new LRUCache({ max, dispose: (epoch) => { this.#forgottenBefore = Math.max(this.#forgottenBefore, epoch); } });
    lease.onLapse(() => this.#dropAll());
  }

  /** A change taken in from the journal: whatever the mirror holds of it goes. */
  taken(entry: JournalEntry): void {
    this.#epoch++;
    this.#changedAt.set(entry.address, this.#epoch);
    const row = this.#addresses.get(entry.address);
    this.#addresses.delete(entry.address);
    if (entry.deviceId !== null) {
      for (const [id, credential] of this.#credentials.entries()) if (credential.deviceId === entry.deviceId) this.#credentials.delete(id);
    }
    if (row) {
      for (const [id, credential] of this.#credentials.entries()) if (credential.addressId === row.id) this.#credentials.delete(id);
    } else if (entry.deviceId === null) {
      // a whole address changed and this node does not know its id: nothing it holds may outlive that
      this.#credentials.clear();
    }
  }

  #dropAll(): void {
    this.#epoch++;
    this.#lapsedAt = this.#epoch;
    this.#credentials.clear();
    this.#addresses.clear();
    this.#addressById.clear();
  }

  mark(): number {
    return this.#epoch;
  }

  changedSince(mark: number, address: string): boolean {
    if (this.#epoch === mark) return false;
    if (this.#lapsedAt > mark || this.#forgottenBefore > mark) return true;
    return (this.#changedAt.get(address) ?? 0) > mark;
  }

  peekCredential(id: number): CredentialView | undefined | Unknown {
    if (!this.#lease.held()) return UNKNOWN;
    return this.#credentials.get(id) ?? UNKNOWN;
  }

  peekAddress(address: string): AddressRow | undefined | Unknown {
    if (!this.#lease.held()) return UNKNOWN;
    return this.#addresses.get(address) ?? UNKNOWN;
  }

  peekGeneration(addressId: number): number | undefined | Unknown {
    if (!this.#lease.held()) return UNKNOWN;
    const name = this.#addressById.get(addressId);
    const row = name === undefined ? undefined : this.#addresses.get(name);
    return row ? row.generation : UNKNOWN;
  }

  async credentialById(id: number): Promise<CredentialView | undefined> {
    return this.#kept(() => this.#inner.credentialById(id), (credential) => {
      if (credential) this.#credentials.set(id, credential);
    });
  }

  async findAddress(address: string): Promise<AddressRow | undefined> {
    return this.#kept(() => this.#inner.findAddress(address), (row) => {
      if (!row) return;
      this.#addresses.set(address, row);
      this.#addressById.set(row.id, address);
    });
  }

  addressGeneration(addressId: number): Promise<number | undefined> {
    return this.#inner.addressGeneration(addressId);
  }

  credentialByDigest(addressId: number, digest: Buffer): Promise<CredentialView | undefined> {
    return this.#kept(() => this.#inner.credentialByDigest(addressId, digest), (credential) => {
      if (credential) this.#credentials.set(credential.id, credential);
    });
  }

  digestParamSets(addressId: number): Promise<string[]> {
    return this.#inner.digestParamSets(addressId);
  }

  pendingLegacy(addressId: number) {
    return this.#inner.pendingLegacy(addressId);
  }

  upgradeLegacy(credentialId: number, digest: Buffer, params: string): Promise<void> {
    return this.#inner.upgradeLegacy(credentialId, digest, params);
  }

  /** Reads, and keeps what it read only when nothing was taken in and the lease held from before the read to after it. */
  async #kept<T>(read: () => Promise<T>, keep: (value: T) => void): Promise<T> {
    const epoch = this.#epoch;
    const heldBefore = this.#lease.held();
    const value = await read();
    if (heldBefore && this.#epoch === epoch && this.#lease.held()) keep(value);
    return value;
  }
}

/** The PostgreSQL driver with this node's lease and mirror. */
export async function openClusterDriver(options: ClusterDriverOptions): Promise<StoreDriver> {
  let lease: NodeLease | null = null;
  const base: PostgresDriver = await openPostgresDriver({
    url: options.url, maxEvents: options.maxEvents, log: options.log, pool: { max: options.poolSize },
    // a change returns once every live node has taken it in
    afterChange: (seq) => (lease ? lease.settled(seq) : Promise.resolve()),
    // a read on the feed's connection unanswered for a lease (at most 2 s) counts the connection as lost
    feed: { ...(options.feedUrl ? { url: options.feedUrl } : {}), readTimeoutMs: Math.min(2_000, options.leaseMs) },
  });
  lease = new NodeLease(base.pool, base.feed, options.leaseMs, options.log);
  const reads = new MirroredReads(base.reads, lease, options.cacheSize);
  // the mirror lets go of a change before anyone else hears of it (the session cuts, the acknowledgement)
  base.feed.onEntry((entry) => reads.taken(entry));
  const heldLease = lease;
  const feed = {
    onEntry: (listener: (entry: JournalEntry) => void) => base.feed.onEntry(listener),
    onGap: (listener: () => void) => base.feed.onGap(() => listener()),
    start: async () => {
      await base.feed.start();
      await heldLease.start();
    },
    stop: async () => {
      await heldLease.stop();
      await base.feed.stop();
    },
  };
  return {
    ...base,
    reads,
    feed,
    location: base.location,
    health(): StoreHealth {
      const health = base.health();
      if (!health.ok) return health;
      return heldLease.held() ? health : { ok: true, detail: `${health.detail}; lease not held: answering from PostgreSQL only` };
    },
    stats: () => ({ ...base.stats(), node: heldLease.id, leaseHeld: heldLease.held() }),
    close: async () => {
      await feed.stop();
      await base.close();
    },
  };
}
