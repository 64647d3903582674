import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Authenticator } from '../auth/authenticator.js';
import { TEMPORARY_REASONS, type FailReason, type LoginResult, type Protocol } from '../auth/types.js';
import type { ConnectionGates } from '../net/connection-gate.js';
import type { SessionRegistry } from '../sessions/registry.js';
import type { FrontContext, StoreStats } from '../front-context.js';

/**
 * What /metrics exports: every login result the Authenticator decided (all
 * surfaces), the proof cache and hash queue, the verdicts answered through
 * nginx auth_http, live sessions by protocol, and the process's own metrics —
 * the shared figures read at scrape time, never on the login path. A registry of its
 * own per surface, so several daemons in one process (tests) never collide.
 */
export class HttpMetrics {
  readonly registry = new Registry();
  readonly #logins: Counter<'surface' | 'protocol' | 'result' | 'reason'>;

  constructor(sessions: SessionRegistry, authenticator: Authenticator, connections: ConnectionGates, store: () => StoreStats, tallies: FrontContext['tallies']) {
    new Counter({
      name: 'devicepass_auth_results_total',
      help: 'Login results decided by the Authenticator, all surfaces, by protocol, result and reason',
      labelNames: ['protocol', 'result', 'reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of authenticator.stats().results) {
          const result = r.reason === 'ok' ? 'ok' : TEMPORARY_REASONS.has(r.reason as FailReason) ? 'temporary' : 'failed';
          this.inc({ protocol: r.protocol, result, reason: r.reason }, r.count);
        }
      },
    });
    new Counter({
      name: 'devicepass_proof_cache_lookups_total',
      help: 'Proof cache lookups, and how many found an entry (a login answered without a hash)',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        const { lookups, hits } = authenticator.stats().cache;
        this.inc({ outcome: 'hit' }, hits);
        this.inc({ outcome: 'miss' }, lookups - hits);
      },
    });
    new Gauge({
      name: 'devicepass_proof_cache_entries',
      help: 'Entries in the proof cache: proven passwords and known misses',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        const { proofs, misses } = authenticator.stats().cache;
        this.set({ kind: 'proof' }, proofs);
        this.set({ kind: 'miss' }, misses);
      },
    });
    new Gauge({
      name: 'devicepass_hash_queue',
      help: 'argon2id and legacy hashes running and waiting in the fair queue',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const { running, queued } = authenticator.stats().queue;
        this.set({ state: 'running' }, running);
        this.set({ state: 'queued' }, queued);
      },
    });
    new Counter({
      name: 'devicepass_hash_queue_refused_total',
      help: 'Hash requests refused because the queue was full (answered as a temporary failure)',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(authenticator.stats().queue.refused);
      },
    });
    this.#logins = new Counter({
      name: 'devicepass_logins_total',
      help: 'Login verdicts answered by this surface, by protocol, result and reason',
      labelNames: ['surface', 'protocol', 'result', 'reason'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'devicepass_live_sessions',
      help: 'Authenticated IMAP, POP3 and SMTP sessions currently open, by protocol',
      labelNames: ['protocol'],
      registers: [this.registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const s of sessions.list()) counts.set(s.protocol, (counts.get(s.protocol) ?? 0) + 1);
        for (const [protocol, n] of counts) this.set({ protocol }, n);
      },
    });
    new Gauge({
      name: 'devicepass_connections',
      help: 'Connections open on each front, and how many of them have not logged in yet',
      labelNames: ['surface', 'state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of connections.stats()) {
          this.set({ surface: s.front, state: 'open' }, s.open);
          this.set({ surface: s.front, state: 'unauthenticated' }, s.unauthenticated);
        }
      },
    });
    new Counter({
      name: 'devicepass_connection_limit_hits_total',
      help: 'Connections refused or closed because they met a limit, by front and limit',
      labelNames: ['surface', 'limit'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of connections.stats()) for (const [limit, n] of s.hits) this.inc({ surface: s.front, limit }, n);
      },
    });
    new Counter({
      name: 'devicepass_login_records_dropped_total',
      help: 'Login records (audit events, last-use updates) dropped unwritten: the disk was short or the write failed',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(store().loginRecordsDropped);
      },
    });
    new Gauge({
      name: 'devicepass_disk_reserve_held',
      help: 'Whether the disk reserve beside the database is in place (0 while given back on a full disk)',
      registers: [this.registry],
      collect() {
        const held = store().diskReserveHeld;
        if (held !== null) this.set(held ? 1 : 0);
      },
    });
    new Counter({
      name: 'devicepass_sessions_cut_total',
      help: 'Live sessions ended by devicepass (device revoked or reset, address removed, expiry, …), by protocol and reason',
      labelNames: ['protocol', 'reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [[protocol, reason], n] of sessions.cuts.entries()) this.inc({ protocol: protocol!, reason: reason! }, n);
      },
    });
    new Counter({
      name: 'devicepass_upstream_errors_total',
      help: 'Logins that succeeded but could not be handed to the upstream server, by front and reason',
      labelNames: ['surface', 'reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [[surface, reason], n] of tallies.upstreamErrors.entries()) this.inc({ surface: surface!, reason: reason! }, n);
      },
    });
    new Counter({
      name: 'devicepass_reloads_total',
      help: 'Configuration reloads (SIGHUP), applied or refused',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [[outcome], n] of tallies.reloads.entries()) this.inc({ outcome: outcome! }, n);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'devicepass_' });
  }

  login(surface: string, protocol: Protocol, result: LoginResult): void {
    const reason = result.ok ? 'ok' : result.reason;
    this.#logins.inc({ surface, protocol, result: result.ok ? 'ok' : result.temporary ? 'temporary' : 'failed', reason });
  }
}
