import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ProofCache } from '../../../src/auth/proof-cache.js';

describe('ProofCache', () => {
  it('starts a proof\'s time to live again at each use, so a device that keeps logging in keeps it', async () => {
    const cache = new ProofCache({ size: 10, ttlMs: 600 });
    const key = cache.key('alice@example.com', 'the password');
    cache.rememberProof(key, { credentialId: 1, generation: 0 });
    await sleep(400);
    expect(cache.proof(key)).toBeDefined();
    await sleep(400); // 800 ms after it was made, 400 ms after its last use
    expect(cache.proof(key)).toBeDefined();
    await sleep(800);
    expect(cache.proof(key)).toBeUndefined();
  });

  it('holds at most its size of proofs and of misses, a flood of misses evicting no proof', () => {
    const cache = new ProofCache({ size: 50, ttlMs: 60_000 });
    const proven = cache.key('alice@example.com', 'right');
    cache.rememberProof(proven, { credentialId: 1, generation: 0 });
    for (let i = 0; i < 1000; i++) cache.rememberMiss(cache.key('alice@example.com', `wrong ${i}`), { addressId: 1, generation: 0 });
    expect(cache.stats()).toMatchObject({ proofs: 1, misses: 50 });
    expect(cache.proof(proven)).toBeDefined();
  });
});
