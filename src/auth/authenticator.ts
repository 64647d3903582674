import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { normalizeAddress } from '../credentials/address.js';
import { computeDigest, formatParams, parseParams, SALT_BYTES, type HashParams } from '../credentials/digest.js';
import { MAX_PASSWORD_BYTES, normalizeDevicePassword } from '../credentials/password.js';
import { verifyLegacy } from '../credentials/schemes/registry.js';
import type { Logger } from '../log/logger.js';
import { UNKNOWN, type LoginReads, type Unknown } from '../store/driver.js';
import type { AddressRow, CredentialView, LegacyCredential } from '../store/types.js';
import { FailureBudget } from './failure-budget.js';
import { HashQueue, QueueFullError } from './hash-queue.js';
import type { LoginRecorder } from './login-recorder.js';
import type { Miss, ProofCache } from './proof-cache.js';
import type { Throttle } from './throttle.js';
import { TEMPORARY_REASONS, type FailReason, type LoginAttempt, type LoginFail, type LoginResult, type Protocol } from './types.js';

const ALL_PROTOCOLS: readonly Protocol[] = ['imap', 'smtp', 'pop3'];

export interface AuthenticatorDeps {
  reads: LoginReads;
  cache: ProofCache;
  queue: HashQueue;
  throttle: Throttle;
  recorder: LoginRecorder;
  params: HashParams;
  log: Logger;
  /** Holds cold failures to the slowest verification's time; one with defaults when absent. */
  budget?: FailureBudget;
  /** `[auth] generic_protocols`, read at each login (a reload changes it): where the generic legacy password still works. */
  genericProtocols?: () => readonly Protocol[];
  now?: () => number;
}

export interface AuthenticatorStats {
  results: Array<{ protocol: string; reason: string; count: number }>;
  cache: ReturnType<ProofCache['stats']>;
  queue: ReturnType<HashQueue['stats']>;
}

/** What a cold verification found, shared by every identical attempt that waited for it. */
interface ColdVerdict {
  credential: CredentialView | undefined;
  /** The address row as read before hashing (undefined: unknown address). */
  row: AddressRow | undefined;
  /** When the hashing started, on the budget's clock: failures are held from here. */
  startedAt: number;
  /**
   * `reads.mark()` taken before the verification's first read. Every attempt
   * answered from this verdict is as old as these reads, however late it
   * joined: a change taken in after the mark voids its success for all of them.
   */
  mark: number;
}

/** A login's result and the mark its reads were made after: what `changedSince` is asked against. */
interface Decision {
  result: LoginResult;
  mark: number;
}

/** Verifications in flight at most; beyond, identical attempts simply verify on their own. */
const MAX_IN_FLIGHT = 10_000;
/** Times a success is decided again because changes to its address kept arriving while it was read; then it is a temporary failure. */
const MAX_REDECISIONS = 3;

/**
 * Decides logins. One argon2id per cold attempt whatever the number of
 * devices (the digest under the address salt is looked up, not compared one
 * by one); cached proofs are re-checked against the credential's row on
 * every hit, so revocation, reset and expiry take effect on the next attempt
 * even when another process made the change. Identical attempts in flight
 * share one verification. Knows nothing of protocols.
 */
export class Authenticator {
  readonly #d: Required<AuthenticatorDeps>;
  readonly #paramsText: string;
  /** Unknown addresses are hashed under this salt so they cost what known ones cost. */
  readonly #dummySalt = randomBytes(SALT_BYTES);
  /** Results by protocol, then reason ("ok" for successes), read by /metrics at scrape time. */
  readonly #results = new Map<string, Map<string, number>>();
  /** Cold verifications in flight by proof-cache key (address and password). */
  readonly #inFlight = new Map<string, Promise<ColdVerdict>>();
  /** Generic passwords waiting to be re-stored as digests, by credential id. */
  readonly #upgrading = new Set<number>();
  readonly #upgradesDone = new Set<() => void>();

  #deciding = 0;

  constructor(deps: AuthenticatorDeps) {
    this.#d = { now: Date.now, budget: new FailureBudget({ maxMs: 5000, kindTtlMs: 86_400_000, maxKinds: 256 }), genericProtocols: () => ALL_PROTOCOLS, ...deps };
    this.#paramsText = formatParams(deps.params);
  }

  /** Logins being decided now (a graceful stop lets them finish). */
  get deciding(): number {
    return this.#deciding;
  }

  async authenticate(attempt: LoginAttempt): Promise<LoginResult> {
    this.#deciding++;
    const started = performance.now();
    try {
      const result = await this.#decide(attempt);
      this.#logResult(attempt, result, performance.now() - started);
      return result;
    } finally {
      this.#deciding--;
    }
  }

  /**
   * One line per login result, whatever the surface, for operators and
   * fail2ban: the client address comes first, right after the fixed fields,
   * so a pattern anchored there cannot be fooled by what a client puts in the
   * address it types (that comes later, JSON-escaped).
   */
  #logResult(attempt: LoginAttempt, result: LoginResult, ms: number): void {
    const common = { protocol: attempt.protocol, client: attempt.clientName ?? null, ms: Math.round(ms * 10) / 10 };
    if (result.ok) {
      this.#d.log.info(
        { ip: attempt.clientIp, login: 'ok', address: result.address, device_id: result.generic ? 'generic' : result.deviceId, device: result.deviceName, ...common, cached: result.cached },
        'login ok',
      );
    } else {
      const address = result.address ?? truncate(attempt.address);
      this.#d.log.info({ ip: attempt.clientIp, login: 'failed', reason: result.reason, address, device: result.deviceName, ...common, cached: result.cached }, 'login failed');
    }
  }

  async #decide(attempt: LoginAttempt): Promise<LoginResult> {
    let result: LoginResult;
    try {
      const address = normalizeAddress(attempt.address);
      if (address === null || attempt.password.length === 0 || Buffer.byteLength(attempt.password) > MAX_PASSWORD_BYTES) {
        result = fail('malformed', address, null, false);
      } else {
        const key = this.#d.cache.key(address, attempt.password);
        const { reads } = this.#d;
        const first = this.#decideOnce(address, key, attempt);
        let decision = first instanceof Promise ? await first : first;
        result = decision.result;
        // a success decided on reads that may predate a change taken in meanwhile (another node's revocation)
        // is decided again, from the store as it is now; the mark is the reads' own, not this attempt's arrival,
        // since an attempt that joined a verification in flight is answered from reads made before it came
        for (let again = 1; result.ok && reads.changedSince(decision.mark, address); again++) {
          if (again > MAX_REDECISIONS) {
            result = fail('internal', address, null, false);
            break;
          }
          decision = await this.#decideOnce(address, key, attempt);
          result = decision.result;
        }
      }
      if (result.ok) {
        if (!attempt.trusted) this.#d.throttle.succeeded(attempt.clientIp);
      } else {
        // failures answer no sooner than the network's penalty delay; successes never wait
        const delay = attempt.trusted ? 0 : this.#d.throttle.delayFor(attempt.clientIp, address);
        if (delay > 0) await sleep(delay);
      }
    } catch (err) {
      this.#d.log.error({ err, address: attempt.address, protocol: attempt.protocol }, 'login could not be decided');
      result = fail('internal', null, null, false);
    }
    this.#record(attempt, result);
    return result;
  }

  /** Resolves when no generic password waits to be re-stored (for tests and a clean stop). */
  upgradesSettled(): Promise<void> {
    if (this.#upgrading.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#upgradesDone.add(resolve));
  }

  /** A cache hit is decided synchronously (one HMAC, one primary-key read, no hash) when the store can vouch for its reads. */
  #decideOnce(address: string, key: string, attempt: LoginAttempt): Decision | Promise<Decision> {
    // before the cache path's reads, which are this attempt's own; a cold verdict carries the mark of its reads
    const mark = this.#d.reads.mark();
    const hit = this.#fromPeeks(address, key, attempt);
    if (hit === UNKNOWN) {
      return this.#fromReads(address, key, attempt).then((result) => (result ? { result, mark } : this.#cold(address, key, attempt, mark)));
    }
    return hit ? { result: hit, mark } : this.#cold(address, key, attempt, mark);
  }

  /** The proof cache's verdict from the store's synchronous reads; UNKNOWN when one of them cannot answer without a round trip. */
  #fromPeeks(address: string, key: string, attempt: LoginAttempt): LoginResult | undefined | Unknown {
    const { cache, reads } = this.#d;
    const proof = cache.proof(key);
    if (proof) {
      // ids are never reused, so the row read by primary key is the credential that was proven
      const credential = reads.peekCredential(proof.credentialId);
      if (credential === UNKNOWN) return UNKNOWN;
      if (credential) {
        const verdict = this.#judge(address, credential, attempt, true);
        if (verdict.ok) return verdict;
        // a failing verdict stands only while the address is unchanged: the password may since belong to a new device
        const generation = reads.peekGeneration(credential.addressId);
        if (generation === UNKNOWN) return UNKNOWN;
        if (proof.generation === generation) return verdict;
      }
      cache.forget(key);
    }

    const miss = cache.miss(key);
    if (miss) {
      const row = reads.peekAddress(address);
      if (row === UNKNOWN) return UNKNOWN;
      if (sameAddressState(miss, row)) return fail(row ? 'wrong-password' : 'unknown-address', address, null, true);
      cache.forget(key);
    }
    return undefined;
  }

  /** #fromPeeks with the store's asynchronous reads, for when those could not answer. */
  async #fromReads(address: string, key: string, attempt: LoginAttempt): Promise<LoginResult | undefined> {
    const { cache, reads } = this.#d;
    const proof = cache.proof(key);
    if (proof) {
      const credential = await reads.credentialById(proof.credentialId);
      if (credential) {
        const verdict = this.#judge(address, credential, attempt, true);
        if (verdict.ok || proof.generation === (await reads.addressGeneration(credential.addressId))) return verdict;
      }
      cache.forget(key);
    }
    const miss = cache.miss(key);
    if (miss) {
      const row = await reads.findAddress(address);
      if (sameAddressState(miss, row)) return fail(row ? 'wrong-password' : 'unknown-address', address, null, true);
      cache.forget(key);
    }
    return undefined;
  }

  /**
   * From here on the attempt costs a hash, unless an identical one is in
   * flight (the reconnect herd: one hash, every waiter gets the answer).
   * The throttle's limits apply before any work, and every failure, refusals
   * included, is held to the same budget whatever the address. A refusal
   * made before any verdict keeps `mark` (only successes are decided again).
   */
  async #cold(address: string, key: string, attempt: LoginAttempt, mark: number): Promise<Decision> {
    const { throttle, budget } = this.#d;
    let shared = this.#inFlight.get(key);
    const first = shared === undefined;
    if (!shared) {
      const arrived = budget.now();
      if (!attempt.trusted && throttle.admit(attempt.clientIp, address) !== null) {
        await budget.hold(arrived);
        return { result: fail('throttled', address, null, false), mark };
      }
      const verification = this.#verify(address, key, attempt);
      shared = verification;
      if (this.#inFlight.size < MAX_IN_FLIGHT) {
        this.#inFlight.set(key, verification);
        const clear = () => {
          if (this.#inFlight.get(key) === verification) this.#inFlight.delete(key);
        };
        verification.then(clear, clear);
      }
    }
    let verdict: ColdVerdict;
    try {
      verdict = await shared;
    } catch (err) {
      if (err instanceof QueueFullError) return { result: fail('busy', address, null, false), mark };
      throw err;
    }
    // the one who hashed counts the failure: a herd of one wrong password is one guess
    if (first && !verdict.credential && !attempt.trusted) throttle.freshFailure(attempt.clientIp, address);
    return { result: await this.#answer(address, verdict, attempt), mark: verdict.mark };
  }

  async #answer(address: string, verdict: ColdVerdict, attempt: LoginAttempt): Promise<LoginResult> {
    const { credential, row } = verdict;
    if (credential) {
      const result = this.#judge(address, credential, attempt, false);
      if (!result.ok) await this.#d.budget.hold(verdict.startedAt);
      return result;
    }
    await this.#d.budget.hold(verdict.startedAt);
    return fail(row ? 'wrong-password' : 'unknown-address', address, null, false);
  }

  /**
   * All the hashes of one attempt, in one slot of the queue (so the wait
   * for a slot does not depend on the address): the digest under each
   * parameter set the address's passwords use, then its imported generic
   * password if none matched. An address with neither, or unknown, costs
   * one digest at the current parameters.
   */
  async #verify(address: string, key: string, attempt: LoginAttempt): Promise<ColdVerdict> {
    const { reads, cache, queue, throttle, budget } = this.#d;
    // before the first read: the verdict, and every attempt that joins it, is as of here
    const mark = reads.mark();
    const row = await reads.findAddress(address);
    const normalized = normalizeDevicePassword(attempt.password);
    const [paramSets, legacy] = row ? await Promise.all([reads.digestParamSets(row.id), reads.pendingLegacy(row.id)]) : [[], []];
    if (paramSets.length === 0 && legacy.length === 0) paramSets.push(this.#paramsText);
    const kind = [...paramSets, ...legacy.map(legacyKind)].join(' ');

    const standing = attempt.trusted ? 'proven' : throttle.standing(attempt.clientIp);
    const verdict = await queue.run(throttle.network(attempt.clientIp), async (): Promise<ColdVerdict> => {
      const startedAt = budget.now();
      let credential: CredentialView | undefined;
      for (const params of paramSets) {
        const digest = await computeDigest(normalized, row?.salt ?? this.#dummySalt, parseParams(params));
        credential = row && (await reads.credentialByDigest(row.id, digest));
        if (credential) break;
      }
      if (!credential && row) credential = await this.#verifyLegacy(row, legacy, attempt.password, normalized);
      budget.observe(kind, startedAt);
      return { credential, row, startedAt, mark };
    }, standing);

    // the generation read before the lookup: a change made meanwhile voids this verdict rather than hiding behind it
    const generation = row?.generation ?? 0;
    if (verdict.credential) cache.rememberProof(key, { credentialId: verdict.credential.id, generation });
    else cache.rememberMiss(key, { addressId: row?.id ?? null, generation });
    return verdict;
  }

  /**
   * The imported generic password, verified by its own scheme. After a
   * success it is re-stored as a digest under the address salt, off the
   * login's path (when the hash queue has room), so later attempts find it
   * by the one lookup — unless the password contains what normalization
   * would change, which would make the digest accept variants.
   */
  async #verifyLegacy(row: AddressRow, pending: LegacyCredential[], password: string, normalized: string): Promise<CredentialView | undefined> {
    const { reads } = this.#d;
    const bytes = Buffer.from(password, 'utf8');
    for (const legacy of pending) {
      if (!(await verifyLegacy({ scheme: legacy.scheme, encoded: legacy.hash }, bytes))) continue;
      const credential = await reads.credentialById(legacy.id);
      if (credential?.state === 'active' && normalized === password) this.#upgradeLater(row, legacy.id, normalized);
      return credential;
    }
    return undefined;
  }

  /**
   * Holds the password in memory until the queue has room (bounded by the
   * queue's background cap; a dropped upgrade happens at a later cold login).
   */
  #upgradeLater(row: AddressRow, credentialId: number, normalized: string): void {
    if (this.#upgrading.has(credentialId)) return;
    const { reads, queue, log } = this.#d;
    const queued = queue.whenIdle(async () => {
      try {
        const digest = await computeDigest(normalized, row.salt, this.#d.params);
        const current = await reads.credentialById(credentialId);
        if (current?.state === 'active' && !(await reads.credentialByDigest(row.id, digest))) await reads.upgradeLegacy(credentialId, digest, this.#paramsText);
      } catch (err) {
        log.warn({ err, credentialId }, 're-storing a generic password as a digest failed; retried at its next cold login');
      } finally {
        this.#upgrading.delete(credentialId);
        if (this.#upgrading.size === 0) {
          for (const done of this.#upgradesDone) done();
          this.#upgradesDone.clear();
        }
      }
    });
    if (queued) this.#upgrading.add(credentialId);
  }

  /** The password matched `credential`; its current row says whether that is enough. */
  #judge(address: string, credential: CredentialView, attempt: LoginAttempt, cached: boolean): LoginResult {
    const name = credential.deviceName;
    if (credential.deviceState === 'revoked' || credential.state === 'revoked') return fail('revoked', address, name, cached, credential.retiredAt);
    if (credential.state === 'reset-away') return fail('reset-away', address, name, cached, credential.retiredAt);
    if (credential.expiresAt !== null && credential.expiresAt <= this.#d.now()) return fail('expired', address, name, cached);
    if (!credential.scopes.includes(attempt.protocol)) return fail('scope', address, name, cached);
    if (credential.deviceKind === 'generic' && !this.#d.genericProtocols().includes(attempt.protocol)) return fail('generic-refused', address, name, cached);
    return { ok: true, address, deviceId: credential.deviceId, deviceName: name, generic: credential.deviceKind === 'generic', cached };
  }

  /** Counters and gauges for monitoring: every login result so far, the proof cache and the hash queue. */
  stats(): AuthenticatorStats {
    const results = [...this.#results].flatMap(([protocol, reasons]) => [...reasons].map(([reason, count]) => ({ protocol, reason, count })));
    return { results, cache: this.#d.cache.stats(), queue: this.#d.queue.stats() };
  }

  #record(attempt: LoginAttempt, result: LoginResult): void {
    let reasons = this.#results.get(attempt.protocol);
    if (!reasons) this.#results.set(attempt.protocol, (reasons = new Map()));
    const reason = result.ok ? 'ok' : result.reason;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    const at = this.#d.now();
    const { protocol, clientIp: ip } = attempt;
    const client = attempt.clientName ?? null;
    if (result.ok) {
      const { address, deviceId, deviceName } = result;
      this.#d.recorder.success(
        `${deviceId}\0${protocol}\0${ip}\0${client}`,
        at,
        () => ({ at, type: 'login.ok', address, deviceId, deviceName, protocol, ip, client }),
        { deviceId, use: { at, protocol, ip, client } },
      );
    } else {
      // a malformed attempt's "address" is whatever the client sent: it is not an address the log may key on
      const address = result.reason === 'malformed' ? result.address : result.address ?? truncate(attempt.address);
      this.#d.recorder.failure({ at, address, reason: result.reason, deviceName: result.deviceName, since: result.since, protocol, ip, client });
    }
  }
}

function fail(reason: FailReason, address: string | null, deviceName: string | null, cached: boolean, since: number | null = null): LoginFail {
  return { ok: false, reason, temporary: TEMPORARY_REASONS.has(reason), address, deviceName, since, cached };
}

function sameAddressState(miss: Miss, row: AddressRow | undefined): boolean {
  return (row?.id ?? null) === miss.addressId && (row?.generation ?? 0) === miss.generation;
}

/** What a generic password's verification costs: its scheme and parameters, without salt or digest. */
function legacyKind(legacy: LegacyCredential): string {
  return `${legacy.scheme}:${legacy.hash.replace(/[A-Za-z0-9+/.]{8,}/g, '')}`;
}

/** A malformed "address" still goes to the audit log, but bounded and printable. */
function truncate(text: string): string {
  return text.replace(/[\p{Cc}]/gu, '?').slice(0, 254);
}
