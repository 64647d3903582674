import path from 'node:path';
import type { Daemon } from '../../../src/daemon.js';
import { startTestDaemon } from '../../helpers/daemon-env.js';

export interface MtaOnSaslDaemon<T> {
  daemon: Daemon;
  /** The server authenticating against the daemon's socket. */
  mta: T;
  /** Stops the server, then the daemon, and removes the daemon's folder. */
  stop(): Promise<void>;
}

/**
 * An in-process devicepass whose only listener is its Dovecot auth socket
 * (`auth.sock`, mode 0666: the server's processes run as users of their own),
 * with `address` added, and the server `start` points at that socket. A failed
 * start stops the daemon again.
 */
export async function startMtaOnSaslDaemon<T extends { stop(): Promise<void> }>(
  address: string,
  prefix: string,
  start: (socket: string) => Promise<T>,
): Promise<MtaOnSaslDaemon<T>> {
  const env = await startTestDaemon({ dovecot_auth: { listen: ['auth.sock'], mode: '0666' } }, prefix);
  let mta: T;
  try {
    await env.daemon.admin.addAddress(address, 'test');
    mta = await start(path.join(env.dir, 'auth.sock'));
  } catch (err) {
    await env.stop();
    throw err;
  }
  return {
    daemon: env.daemon,
    mta,
    stop: async () => {
      await mta.stop();
      await env.stop();
    },
  };
}
