import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../../src/auth/authenticator.js';
import { FailureBudget } from '../../../src/auth/failure-budget.js';
import { HashQueue } from '../../../src/auth/hash-queue.js';
import { LoginRecorder } from '../../../src/auth/login-recorder.js';
import { ProofCache } from '../../../src/auth/proof-cache.js';
import { Throttle } from '../../../src/auth/throttle.js';
import type { LoginAttempt, LoginResult } from '../../../src/auth/types.js';
import { computeDigest, formatParams, SALT_BYTES, type HashParams } from '../../../src/credentials/digest.js';
import { normalizeDevicePassword } from '../../../src/credentials/password.js';
import { silentLogger } from '../../../src/log/logger.js';
import { NetworkSet } from '../../../src/net/networks.js';
import { UNKNOWN, type AuditSink, type LoginReads, type Unknown } from '../../../src/store/driver.js';
import type { AddressRow, CredentialView, LegacyCredential } from '../../../src/store/types.js';

const ADDRESS = 'alice@example.com';
const OTHER = 'bob@example.com';
const PASSWORD = 'abcd efgh ijkl mnop';
const PARAMS: HashParams = { memoryKib: 1024, iterations: 1, parallelism: 1 };

/**
 * A store as a node of a cluster sees it: reads go to the database (the
 * peeks never vouch, as with a mirror that holds nothing), and changes made
 * elsewhere arrive as journal entries that move the mark, as MirroredReads
 * does. The read by digest can be held so that its answer, read before a
 * change, arrives after it.
 */
class ControlledReads implements LoginReads {
  readonly row: AddressRow = { id: 1, address: ADDRESS, salt: randomBytes(SALT_BYTES), generation: 1, createdAt: 0 };
  credential: CredentialView = {
    id: 10, state: 'active', retiredAt: null, addressId: 1, deviceId: 100, deviceKind: 'device', deviceName: 'iPhone',
    deviceState: 'active', scopes: ['imap', 'smtp', 'pop3'], expiresAt: null,
  };
  digest: Buffer = Buffer.alloc(0);
  addressReads = 0;
  byIdReads = 0;
  /** While set, a read by digest answers what the store held when it was made, but only once this settles. */
  hold: Promise<void> | null = null;
  /** Called as a read by digest is made (the store answered; the answer is on its way). */
  onDigestRead: () => void = () => {};
  onByIdRead: () => void = () => {};
  #epoch = 1;
  readonly #changedAt = new Map<string, number>();

  async init(): Promise<this> {
    this.digest = await computeDigest(normalizeDevicePassword(PASSWORD), this.row.salt, PARAMS);
    return this;
  }

  /** A change committed elsewhere and its journal entry taken in on this node. */
  takeIn(address: string, change: () => void = () => {}): void {
    change();
    this.#epoch++;
    this.#changedAt.set(address, this.#epoch);
  }

  revoke(): void {
    this.takeIn(ADDRESS, () => {
      this.credential = { ...this.credential, state: 'revoked', deviceState: 'revoked', retiredAt: 1 };
      this.row.generation++;
    });
  }

  async findAddress(address: string): Promise<AddressRow | undefined> {
    this.addressReads++;
    return address === ADDRESS ? { ...this.row } : undefined;
  }
  async addressGeneration(addressId: number): Promise<number | undefined> {
    return addressId === this.row.id ? this.row.generation : undefined;
  }
  async credentialById(id: number): Promise<CredentialView | undefined> {
    this.byIdReads++;
    const found = id === this.credential.id ? { ...this.credential } : undefined;
    this.onByIdRead();
    return found;
  }
  async credentialByDigest(addressId: number, digest: Buffer): Promise<CredentialView | undefined> {
    const found = addressId === this.row.id && digest.equals(this.digest) ? { ...this.credential } : undefined;
    const held = this.hold;
    this.onDigestRead();
    if (held) await held;
    return found;
  }
  async digestParamSets(): Promise<string[]> {
    return [formatParams(PARAMS)];
  }
  async pendingLegacy(): Promise<LegacyCredential[]> {
    return [];
  }
  async upgradeLegacy(): Promise<void> {}
  peekAddress(): Unknown { return UNKNOWN; }
  peekGeneration(): Unknown { return UNKNOWN; }
  peekCredential(): Unknown { return UNKNOWN; }
  mark(): number {
    return this.#epoch;
  }
  changedSince(mark: number, address: string): boolean {
    return (this.#changedAt.get(address) ?? 0) > mark;
  }
}

const quietSink: AuditSink = {
  appendEvents: async () => {},
  recordUsage: async () => {},
  shedding: () => false,
  isBusy: () => false,
};

function authenticatorOn(reads: LoginReads): Authenticator {
  return new Authenticator({
    reads,
    cache: new ProofCache({ size: 100, ttlMs: 60_000 }),
    queue: new HashQueue({ concurrency: 2, maxQueued: 100, maxQueuedPerClient: 100 }),
    throttle: new Throttle({
      trusted: new NetworkSet([]), hashRate: 100, hashBurst: 100, failureDelayMs: 0, failureDelayMaxMs: 0, lockoutFailures: 100,
      lockoutWindowMs: 60_000, maxNetworks: 100, maxAddresses: 100, maxNetworksPerAddress: 64, ipv4Prefix: 24, ipv6Prefix: 64,
    }),
    recorder: new LoginRecorder(quietSink, silentLogger, { flushIntervalMs: 60_000, maxBuffered: 1000, failureWindowMs: 60_000 }),
    params: PARAMS,
    log: silentLogger,
    // failures here are not held to a slow verification's time: that has its own tests
    budget: new FailureBudget({ maxMs: 1, kindTtlMs: 60_000, maxKinds: 8 }),
  });
}

const attempt = (address = ADDRESS): LoginAttempt => ({ address, password: PASSWORD, protocol: 'imap', clientIp: '203.0.113.7', trusted: false });

/** Holds the next read by digest; resolves once it has been made, with the function that lets its answer through. */
function holdDigestRead(reads: ControlledReads): Promise<() => void> {
  let release = () => {};
  reads.hold = new Promise<void>((resolve) => { release = resolve; });
  return new Promise((made) => {
    reads.onDigestRead = () => {
      reads.onDigestRead = () => {};
      reads.hold = null;
      made(release);
    };
  });
}

/**
 * A fresh store and authenticator, and a login (X1) whose read by digest has
 * been made while the credential is still active, its answer held until
 * `release()`: what each case does in between is the overlap under test.
 */
async function loginWithHeldRead(): Promise<{ reads: ControlledReads; auth: Authenticator; x1: Promise<LoginResult>; release: () => void }> {
  const reads = await new ControlledReads().init();
  const auth = authenticatorOn(reads);
  const made = holdDigestRead(reads);
  const x1 = auth.authenticate(attempt());
  const release = await made;
  return { reads, auth, x1, release };
}

describe('Authenticator: a success read before a change taken in is decided again', () => {
  it('a login whose credential read overlaps a revocation of its address is refused, not accepted on the old read', async () => {
    const { reads, x1, release } = await loginWithHeldRead();
    reads.revoke();
    release();
    expect(await x1).toMatchObject({ ok: false, reason: 'revoked' });
    // decided again from the store as it is now, not from the held answer
    expect(reads.byIdReads).toBeGreaterThan(0);
  });

  it('a login that overlapped a change to another address is not decided again', async () => {
    const { reads, x1, release } = await loginWithHeldRead();
    reads.takeIn(OTHER);
    release();
    expect(await x1).toMatchObject({ ok: true, deviceName: 'iPhone', cached: false });
    expect(reads.byIdReads).toBe(0);
  });

  it('a success that changes keep overtaking becomes a temporary failure', async () => {
    const { reads, x1, release } = await loginWithHeldRead();
    // every read the decision makes is overtaken by a change that leaves the credential as it was
    reads.onByIdRead = () => reads.takeIn(ADDRESS);
    reads.takeIn(ADDRESS);
    release();
    expect(await x1).toMatchObject({ ok: false, reason: 'internal', temporary: true });
    expect(reads.byIdReads).toBe(3);
  });

  it('an identical login that joins a verification which read before a revocation is refused too', async () => {
    // X1 reads the credential while it is still active; its answer is late
    const { reads, auth, x1, release } = await loginWithHeldRead();
    // the revocation commits and its journal entry is taken in here (the sessions are cut now)
    reads.revoke();
    // X2 arrives after the cut with the same credentials and joins X1's verification
    const x2 = auth.authenticate(attempt());
    // joined: a verification of its own would have read the address already (that read is made synchronously)
    expect(reads.addressReads).toBe(1);
    release();
    const [r1, r2] = await Promise.all([x1, x2]);
    expect(r1).toMatchObject({ ok: false, reason: 'revoked' });
    expect(r2).toMatchObject({ ok: false, reason: 'revoked' });
  });
});
