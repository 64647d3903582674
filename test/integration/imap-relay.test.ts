import { createHash, randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOB_PATTERN } from '../helpers/fake-imap-upstream.js';
import { startImapEnv, type ImapEnv } from '../helpers/imap-env.js';

const ADDRESS = 'alice@example.com';

/** A logged-in TLS client that keeps every byte it receives, for checks beyond line-by-line reading. */
async function loggedIn(env: ImapEnv): Promise<{ socket: tls.TLSSocket; received: () => Buffer; until: (text: string, timeoutMs?: number) => Promise<void> }> {
  const socket = tls.connect({ host: '127.0.0.1', port: env.tlsPort, rejectUnauthorized: false });
  const chunks: Buffer[] = [];
  /** The last bytes received, so a wait checks only what is new (the blob test receives 32 MiB). */
  let tail = '';
  let waiter: (() => void) | null = null;
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    tail = (tail + c.subarray(-256).toString('latin1')).slice(-512);
    waiter?.();
  });
  const received = () => Buffer.concat(chunks);
  const until = (text: string, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${text}" in time; last received: ${JSON.stringify(tail.slice(-200))}`)), timeoutMs);
      const check = () => {
        if (tail.includes(text)) {
          clearTimeout(timer);
          waiter = null;
          resolve();
        }
      };
      waiter = check;
      check();
    });
  await until('* OK');
  socket.write(`l LOGIN ${ADDRESS} "${env.devices.phone!.password}"\r\n`);
  await until('l OK');
  chunks.length = 0;
  tail = '';
  return { socket, received, until };
}

describe('IMAP relay after login', () => {
  let env: ImapEnv;
  beforeAll(async () => {
    env = await startImapEnv({ devices: { phone: undefined } });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('passes 32 MiB from the upstream intact to a client that stops reading for a while, holding the upstream back meanwhile', async () => {
    const size = 32 * 2 ** 20;
    const c = await loggedIn(env);
    c.socket.pause();
    c.socket.write(`b X-BLOB ${size}\r\n`);
    await new Promise((r) => setTimeout(r, 500));
    // backpressure: devicepass stopped reading from the upstream, so most of the blob is still the upstream's to send
    const upstreamSocket = env.upstream.loggedIn(ADDRESS).at(-1)!.socket;
    expect(upstreamSocket.writableLength).toBeGreaterThan(4 * 2 ** 20);
    c.socket.resume();
    await c.until('b OK blob sent', 20_000);
    const all = c.received();
    const header = `* X-BLOB {${size}}\r\n`;
    expect(all.subarray(0, header.length).toString()).toBe(header);
    const blob = all.subarray(header.length, header.length + size);
    expect(blob.equals(Buffer.alloc(size, BLOB_PATTERN))).toBe(true);
    expect(all.subarray(header.length + size).toString()).toBe('\r\nb OK blob sent\r\n');
    c.socket.destroy();
  });

  it('passes a 4 MiB literal from the client to the upstream byte for byte', async () => {
    // random but NUL-free: a plain IMAP literal may not hold NULs (RFC 9051 §4.3)
    const data = Buffer.from(randomBytes(3 * 2 ** 20).toString('base64'));
    const c = await loggedIn(env);
    c.socket.write(`d X-DIGEST {${data.length}}\r\n`);
    await c.until('+ go ahead');
    c.socket.write(Buffer.concat([data, Buffer.from('\r\n')]));
    await c.until('d OK digest done');
    expect(c.received().toString()).toContain(`* X-DIGEST ${data.length} ${createHash('sha256').update(data).digest('hex')}\r\n`);
    c.socket.destroy();
  });

  it('ends the upstream session when the client closes, and unregisters it', async () => {
    const c = await loggedIn(env);
    const before = env.daemon.registry.list(ADDRESS).length;
    const upstreamSocket = env.upstream.loggedIn(ADDRESS).at(-1)!.socket;
    const upstreamClosed = new Promise<void>((resolve) => upstreamSocket.once('close', () => resolve()));
    c.socket.end();
    await upstreamClosed;
    await expect.poll(() => env.daemon.registry.list(ADDRESS).length).toBe(before - 1);
  });
});
