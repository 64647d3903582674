/**
 * The self-service pages face the internet: one network must not be able to
 * hold every socket of the [web] port (slow TLS clients, idle keep-alives),
 * which would lock every other user out of their setup link.
 */
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebEnv, type WebEnv } from '../helpers/web-env.js';

const AUTOCONFIG = '/mail/config-v1.1.xml?emailaddress=alice%40example.com';

/** A TLS connection from `localAddress` that completed its handshake, or null when the server closed it first. */
function handshake(port: number, localAddress: string): Promise<tls.TLSSocket | null> {
  return new Promise((resolve) => {
    // from a chosen loopback address: each is a client network of its own
    const socket = tls.connect({ socket: net.connect({ host: '127.0.0.1', port, localAddress }), rejectUnauthorized: false });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', () => resolve(null));
    socket.once('close', () => resolve(null));
  });
}

function status(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: AUTOCONFIG, localAddress, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('[web] connection limits', () => {
  let env: WebEnv;
  beforeAll(async () => {
    env = await startWebEnv({ web: { max_connections_per_network: 2, max_connections: 3 } });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('a network at its limit is closed before the handshake, another network is served, and a freed place is taken again', async () => {
    const held = [await handshake(env.port, '127.0.0.1'), await handshake(env.port, '127.0.0.1')];
    expect(held.every((s) => s !== null)).toBe(true);
    expect(await handshake(env.port, '127.0.0.1')).toBeNull();
    // another client network still gets its page
    expect(await status(env.port, '127.0.0.2')).toBe(200);
    // the total: two held from one network, one more from another, and the next from a third is refused
    const third = await handshake(env.port, '127.0.0.3');
    expect(third).not.toBeNull();
    expect(await handshake(env.port, '127.0.0.4')).toBeNull();
    third!.destroy();
    held[0]!.destroy();
    // a released place is free again (the close reaches the server a moment later)
    let answered = 0;
    for (let i = 0; i < 50 && answered !== 200; i++) {
      answered = await status(env.port, '127.0.0.1').catch(() => 0);
      if (answered !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(answered).toBe(200);
    held[1]!.destroy();
  });
});
