/**
 * Accept-side limits, shared by every front: how many connections a front
 * holds in total and from one client network, and how many of those have not
 * logged in yet. A front asks admit() with the client's address (after the
 * PROXY header of a trusted proxy) before it does any work for a connection,
 * and answers a refusal with its protocol's own "try later". Limits enforced
 * inside a front (a login deadline, a request cap) are reported through hit(),
 * so every limit is counted and logged the same way.
 */
import type { Logger } from '../log/logger.js';
import { RateLimitedWarning } from '../log/rate-limited.js';
import { clientNetwork } from './client-network.js';

export interface GateLimits {
  readonly maxConnections: number;
  readonly maxPerNetwork: number;
  /** Connections not logged in yet; a front without a login leaves them out. */
  readonly maxUnauthenticated?: number;
  readonly maxUnauthenticatedPerNetwork?: number;
}

/** Which limit a connection met: the accept-side ones, then those the fronts enforce themselves. */
export type LimitName =
  | 'connections'
  | 'connections_per_network'
  | 'unauthenticated'
  | 'unauthenticated_per_network'
  | 'login_timeout'
  | 'idle_timeout'
  | 'pending_requests';

/** One admitted connection's place in the counts. */
export interface ConnectionTicket {
  /** The client network counted, or null (a Unix socket peer: counted in the totals only). */
  readonly network: string | null;
  /** The connection logged in: it leaves the unauthenticated counts. Repeated calls do nothing. */
  authenticated(): void;
  /** The connection closed. Repeated calls do nothing. */
  release(): void;
}

export type Admission = { readonly ok: true; readonly ticket: ConnectionTicket } | { readonly ok: false; readonly limit: LimitName };

export interface GateStats {
  readonly front: string;
  readonly open: number;
  readonly unauthenticated: number;
  /** Every limit met since start, by limit. */
  readonly hits: ReadonlyMap<LimitName, number>;
}

interface Counts {
  open: number;
  unauthenticated: number;
}

/** One warning line per front per interval at most, with the count of those left out. */
const LOG_INTERVAL_MS = 10_000;

export class ConnectionGate {
  readonly front: string;
  readonly #limits: Required<GateLimits>;
  readonly #total: Counts = { open: 0, unauthenticated: 0 };
  /** Only networks with an open connection: bounded by max_connections. */
  readonly #byNetwork = new Map<string, Counts>();
  readonly #hits = new Map<LimitName, number>();
  readonly #warning: RateLimitedWarning;

  constructor(front: string, limits: GateLimits, log: Logger, now: () => number = Date.now) {
    this.front = front;
    this.#limits = {
      maxConnections: limits.maxConnections,
      maxPerNetwork: limits.maxPerNetwork,
      maxUnauthenticated: limits.maxUnauthenticated ?? limits.maxConnections,
      maxUnauthenticatedPerNetwork: limits.maxUnauthenticatedPerNetwork ?? limits.maxPerNetwork,
    };
    this.#warning = new RateLimitedWarning(log, LOG_INTERVAL_MS, now);
  }

  /** `clientIp` null: a peer without an address (Unix socket), held to the totals only. */
  admit(clientIp: string | null): Admission {
    const network = clientIp === null ? null : (clientNetwork(clientIp) ?? clientIp);
    const counts = network === null ? undefined : this.#byNetwork.get(network);
    const l = this.#limits;
    let limit: LimitName | null = null;
    if (this.#total.open >= l.maxConnections) limit = 'connections';
    else if (this.#total.unauthenticated >= l.maxUnauthenticated) limit = 'unauthenticated';
    else if (counts && counts.open >= l.maxPerNetwork) limit = 'connections_per_network';
    else if (counts && counts.unauthenticated >= l.maxUnauthenticatedPerNetwork) limit = 'unauthenticated_per_network';
    if (limit !== null) {
      this.#record(limit, clientIp, network);
      return { ok: false, limit };
    }
    let mine = counts;
    if (network !== null && !mine) this.#byNetwork.set(network, (mine = { open: 0, unauthenticated: 0 }));
    for (const c of mine ? [this.#total, mine] : [this.#total]) {
      c.open++;
      c.unauthenticated++;
    }
    return { ok: true, ticket: this.#ticket(network, mine ?? null) };
  }

  /** A limit a front enforces itself was met by this client: counted and logged like a refusal. */
  hit(limit: LimitName, clientIp: string | null): void {
    this.#record(limit, clientIp, clientIp === null ? null : clientNetwork(clientIp));
  }

  stats(): GateStats {
    return { front: this.front, open: this.#total.open, unauthenticated: this.#total.unauthenticated, hits: new Map(this.#hits) };
  }

  #ticket(network: string | null, mine: Counts | null): ConnectionTicket {
    let authenticated = false;
    let released = false;
    const counts = mine ? [this.#total, mine] : [this.#total];
    return {
      network,
      authenticated: () => {
        if (authenticated || released) return;
        authenticated = true;
        for (const c of counts) c.unauthenticated--;
      },
      release: () => {
        if (released) return;
        released = true;
        for (const c of counts) {
          c.open--;
          if (!authenticated) c.unauthenticated--;
        }
        if (network !== null && mine && mine.open === 0) this.#byNetwork.delete(network);
      },
    };
  }

  #record(limit: LimitName, clientIp: string | null, network: string | null): void {
    this.#hits.set(limit, (this.#hits.get(limit) ?? 0) + 1);
    this.#warning.warn({ surface: this.front, limit, clientIp: clientIp ?? 'local', network }, 'connection limit reached');
  }
}

/** The daemon's gates, one per front, so /metrics can read them all. */
export class ConnectionGates {
  readonly #log: Logger;
  readonly #gates = new Map<string, ConnectionGate>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** The front's gate, made on first use; a front asks once, when it starts. */
  gate(front: string, limits: GateLimits): ConnectionGate {
    let gate = this.#gates.get(front);
    if (!gate) this.#gates.set(front, (gate = new ConnectionGate(front, limits, this.#log)));
    return gate;
  }

  stats(): GateStats[] {
    return [...this.#gates.values()].map((g) => g.stats());
  }
}
