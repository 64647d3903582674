import { WorkerPool } from './worker-pool.js';

/**
 * SHA-crypt ($5$ / $6$, Ulrich Drepper's public specification) runs here, in
 * worker threads, because it is thousands of chained digests with nothing
 * async to hand them to. The code is a plain-JavaScript string (see
 * worker-pool.ts for why); it is exercised by the fixtures from glibc's
 * mkpasswd, OpenSSL and doveadm in test/unit/credentials/schemes.test.ts.
 *
 * Request: { alg: 'sha256' | 'sha512', password: Uint8Array, salt: string, rounds }
 * Reply value: the 43- or 86-character encoded digest (the part after the salt).
 */
const SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Bytes of 'source' repeated (and cut) to exactly 'length' bytes.
function stretch(source, length) {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += source.length) source.copy(out, at, 0, Math.min(source.length, length - at));
  return out;
}

function digest(alg, parts) {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
}

function shaCrypt(alg, password, salt, rounds) {
  const size = alg === 'sha512' ? 64 : 32;
  const b = digest(alg, [password, salt, password]);

  const a = createHash(alg);
  a.update(password);
  a.update(salt);
  let left = password.length;
  for (; left > size; left -= size) a.update(b);
  a.update(b.subarray(0, left));
  for (let n = password.length; n > 0; n >>= 1) a.update(n & 1 ? b : password);
  let c = a.digest();

  const dp = createHash(alg);
  for (let i = 0; i < password.length; i++) dp.update(password);
  const p = stretch(dp.digest(), password.length);

  const ds = createHash(alg);
  for (let i = 0; i < 16 + c[0]; i++) ds.update(salt);
  const s = stretch(ds.digest(), salt.length);

  for (let i = 0; i < rounds; i++) {
    const h = createHash(alg);
    h.update(i & 1 ? p : c);
    if (i % 3) h.update(s);
    if (i % 7) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }
  return encode(c);
}

// The spec's transposed base64: bytes go out in triples (i, i+n, i+2n),
// rotated by i mod 3 (leftwards for SHA-512, rightwards for SHA-256), each
// triple written as four characters, least significant 6 bits first.
function encode(d) {
  let out = '';
  const put = (b2, b1, b0, chars) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let k = 0; k < chars; k++, w >>= 6) out += ITOA64[w & 63];
  };
  const wide = d.length === 64;
  const n = wide ? 21 : 10;
  for (let i = 0; i < n; i++) {
    const t = [i, i + n, i + 2 * n];
    const k = wide ? i % 3 : (3 - (i % 3)) % 3;
    put(d[t[k]], d[t[(k + 1) % 3]], d[t[(k + 2) % 3]], 4);
  }
  if (wide) put(0, 0, d[63], 2);
  else put(0, d[31], d[30], 3);
  return out;
}

parentPort.on('message', (m) => {
  try {
    const value = shaCrypt(m.alg, Buffer.from(m.password), Buffer.from(m.salt, 'latin1'), m.rounds);
    parentPort.postMessage({ ok: true, value });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String((e && e.message) || e) });
  }
});
`;

let pool: WorkerPool | undefined;

/** Computes the encoded SHA-crypt digest off the main thread. */
export function shaCryptDigest(
  alg: 'sha256' | 'sha512',
  password: Uint8Array,
  salt: string,
  rounds: number,
): Promise<string> {
  pool ??= new WorkerPool(SOURCE);
  // A fresh copy: posting a pooled Buffer would clone its whole 8 KiB slab
  // (other allocations included); a private copy is transferred, not cloned.
  const copy = new Uint8Array(password);
  return pool.run<string>({ alg, password: copy, salt, rounds }, [copy.buffer]);
}

/** Stops the SHA-crypt threads (they are unref'd when idle, so this is optional). */
export async function closeShaCryptWorkers(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.close();
}
