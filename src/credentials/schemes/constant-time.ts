import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality for fixed-size digests. The length is public (it is
 * fixed by the scheme), so an early return on a length mismatch leaks nothing.
 */
export function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// Per-process key: MACs of the two sides are equal-length, so timingSafeEqual
// can compare them, and an attacker can't precompute inputs that collide.
const macKey = randomBytes(32);

function mac(value: Uint8Array): Buffer {
  return createHmac('sha256', macKey).update(value).digest();
}

/**
 * Equality for secrets whose length is itself secret (a PLAIN password):
 * comparing MACs hides both the content and the length from timing.
 */
export function equalSecrets(a: Uint8Array, b: Uint8Array): boolean {
  return timingSafeEqual(mac(a), mac(b));
}
