import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { normalizeAddress } from '../credentials/address.js';
import { computeDigest, formatParams, parseParams, SALT_BYTES, type HashParams } from '../credentials/digest.js';
import { normalizeDevicePassword } from '../credentials/password.js';
import { verifyLegacy } from '../credentials/schemes/registry.js';
import type { Logger } from '../log/logger.js';
import type { AddressRow, CredentialStore, CredentialView } from '../store/types.js';
import { HashQueue, QueueFullError } from './hash-queue.js';
import type { LoginRecorder } from './login-recorder.js';
import type { Miss, ProofCache } from './proof-cache.js';
import type { Throttle } from './throttle.js';
import { TEMPORARY_REASONS, type FailReason, type LoginAttempt, type LoginFail, type LoginResult } from './types.js';

export interface AuthenticatorDeps {
  store: CredentialStore;
  cache: ProofCache;
  queue: HashQueue;
  throttle: Throttle;
  recorder: LoginRecorder;
  params: HashParams;
  log: Logger;
  now?: () => number;
}

export interface AuthenticatorStats {
  results: Array<{ protocol: string; reason: string; count: number }>;
  cache: ReturnType<ProofCache['stats']>;
  queue: ReturnType<HashQueue['stats']>;
}

/** Longer than any real password; bounds the work an attacker can make us hash. */
export const MAX_PASSWORD_BYTES = 1024;

/**
 * Decides logins. One argon2id per cold attempt whatever the number of
 * devices (the digest under the address salt is looked up, not compared one
 * by one); cached proofs are re-checked against the credential's row on
 * every hit, so revocation, reset and expiry take effect on the next attempt
 * even when another process made the change. Knows nothing of protocols.
 */
export class Authenticator {
  readonly #d: Required<AuthenticatorDeps>;
  readonly #paramsText: string;
  /** Unknown addresses are hashed under this salt so they cost what known ones cost. */
  readonly #dummySalt = randomBytes(SALT_BYTES);
  /** Results by protocol, then reason ("ok" for successes), read by /metrics at scrape time. */
  readonly #results = new Map<string, Map<string, number>>();

  constructor(deps: AuthenticatorDeps) {
    this.#d = { now: Date.now, ...deps };
    this.#paramsText = formatParams(deps.params);
  }

  async authenticate(attempt: LoginAttempt): Promise<LoginResult> {
    let result: LoginResult;
    try {
      const address = normalizeAddress(attempt.address);
      if (address === null || attempt.password.length === 0 || Buffer.byteLength(attempt.password) > MAX_PASSWORD_BYTES) {
        result = fail('malformed', address, null, false);
      } else {
        const key = this.#d.cache.key(address, attempt.password);
        // a cache hit is decided synchronously: one HMAC, one primary-key read, no hash
        result = this.#fromCache(address, key, attempt) ?? (await this.#verifyCold(address, key, attempt));
      }
      if (!result.ok) {
        // failures answer no sooner than the client IP's penalty delay; successes never wait
        const delay = attempt.trusted ? 0 : this.#d.throttle.delayFor(attempt.clientIp);
        if (delay > 0) await sleep(delay);
      }
    } catch (err) {
      this.#d.log.error({ err, address: attempt.address, protocol: attempt.protocol }, 'login could not be decided');
      result = fail('internal', null, null, false);
    }
    this.#record(attempt, result);
    return result;
  }

  #fromCache(address: string, key: string, attempt: LoginAttempt): LoginResult | undefined {
    const { cache, store, throttle } = this.#d;
    const proof = cache.proof(key);
    if (proof) {
      // ids are never reused, so the row read by primary key is the credential that was proven
      const credential = store.credentialById(proof.credentialId);
      if (credential) {
        const verdict = this.#judge(address, credential, attempt, true);
        // a failing verdict stands only while the address is unchanged: the password may since belong to a new device
        if (verdict.ok || proof.generation === store.addressGeneration(credential.addressId)) return verdict;
      }
      cache.forget(key);
    }

    const miss = cache.miss(key);
    if (miss) {
      const row = store.findAddress(address);
      if (sameAddressState(miss, row)) return fail(row ? 'wrong-password' : 'unknown-address', address, null, true);
      cache.forget(key);
    }

    // from here on the attempt costs a hash: the fresh-failure limits apply
    if (!attempt.trusted && throttle.addressLocked(address)) return fail('throttled', address, null, false);
    return undefined;
  }

  async #verifyCold(address: string, key: string, attempt: LoginAttempt): Promise<LoginResult> {
    const { store, cache, queue, throttle } = this.#d;
    const row = store.findAddress(address);
    const normalized = normalizeDevicePassword(attempt.password);
    let credential: CredentialView | undefined;
    let currentDigest: Buffer | undefined;
    try {
      const paramSets = row ? withCurrent(store.digestParamSets(row.id), this.#paramsText) : [this.#paramsText];
      for (const params of paramSets) {
        const digest = await queue.run(attempt.clientIp, () => computeDigest(normalized, row?.salt ?? this.#dummySalt, parseParams(params)));
        if (params === this.#paramsText) currentDigest = digest;
        credential = row && store.credentialByDigest(row.id, digest);
        if (credential) break;
      }
      if (!credential && row) credential = await this.#verifyLegacy(row, attempt, normalized, currentDigest);
    } catch (err) {
      if (err instanceof QueueFullError) return fail('busy', address, null, false);
      throw err;
    }

    // the generation read before the lookup: a change made meanwhile voids this verdict rather than hiding behind it
    const generation = row?.generation ?? 0;
    if (credential) {
      cache.rememberProof(key, { credentialId: credential.id, generation });
      return this.#judge(address, credential, attempt, false);
    }
    cache.rememberMiss(key, { addressId: row?.id ?? null, generation });
    if (!attempt.trusted) throttle.freshFailure(attempt.clientIp, row ? address : null);
    return fail(row ? 'wrong-password' : 'unknown-address', address, null, false);
  }

  /**
   * The imported generic password, verified by its own scheme. After one
   * success it is re-stored as a digest under the address salt, so later
   * attempts find it by the one lookup — unless the password contains what
   * normalization would change, which would make the digest accept variants.
   */
  async #verifyLegacy(row: AddressRow, attempt: LoginAttempt, normalized: string, digest: Buffer | undefined): Promise<CredentialView | undefined> {
    const { store, queue } = this.#d;
    const password = Buffer.from(attempt.password, 'utf8');
    for (const legacy of store.pendingLegacy(row.id)) {
      const ok = await queue.run(attempt.clientIp, () => verifyLegacy({ scheme: legacy.scheme, encoded: legacy.hash }, password));
      if (!ok) continue;
      const credential = store.credentialById(legacy.id);
      if (credential?.state === 'active' && digest && normalized === attempt.password && !store.credentialByDigest(row.id, digest)) {
        store.upgradeLegacy(legacy.id, digest, this.#paramsText);
      }
      return credential;
    }
    return undefined;
  }

  /** The password matched `credential`; its current row says whether that is enough. */
  #judge(address: string, credential: CredentialView, attempt: LoginAttempt, cached: boolean): LoginResult {
    const name = credential.deviceName;
    if (credential.deviceState === 'revoked' || credential.state === 'revoked') return fail('revoked', address, name, cached, credential.retiredAt);
    if (credential.state === 'reset-away') return fail('reset-away', address, name, cached, credential.retiredAt);
    if (credential.expiresAt !== null && credential.expiresAt <= this.#d.now()) return fail('expired', address, name, cached);
    if (!credential.scopes.includes(attempt.protocol)) return fail('scope', address, name, cached);
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

function withCurrent(sets: string[], current: string): string[] {
  return [current, ...sets.filter((s) => s !== current)];
}

/** A malformed "address" still goes to the audit log, but bounded and printable. */
function truncate(text: string): string {
  return text.replace(/[\p{Cc}]/gu, '?').slice(0, 254);
}
