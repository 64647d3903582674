/** The Postfix launcher lives under scripts/ so the benchmark can use it too. */
import type { Daemon } from '../../../src/daemon.js';
import { startPostfix, postfixInstalled, type PostfixInstance } from '../../../scripts/e2e/postfix.js';
import { startTestDaemon, type TestDaemon } from '../../helpers/daemon-env.js';
import { deepMerge } from '../../helpers/env.js';
import { serversReady } from './require-servers.js';

export { POSTFIX_DOMAINS, POSTFIX_REFUSED_RECIPIENT, postfixInstalled, startPostfix, type PostfixInstance } from '../../../scripts/e2e/postfix.js';
export * from '../../../scripts/e2e/sasl-postfix.js';
export * from '../../../scripts/e2e/exim.js';
export * from '../../../scripts/e2e/sasl-dovecot.js';

/** Whether the delivering-Postfix suites can run: Postfix installed and this process root (Postfix drops to its own user). */
export const postfixAsRootReady = (): boolean => serversReady(postfixInstalled() && process.getuid?.() === 0, 'Postfix (as root)');

export interface DaemonBeforePostfix {
  postfix: PostfixInstance;
  daemon: Daemon;
  /** Stops the daemon (removing its folder), then Postfix. */
  stop(): Promise<void>;
}

/**
 * A real Postfix and an in-process devicepass whose `[smtp.upstream]` is that
 * Postfix, the Dovecot auth socket off; `config` merges over that section by
 * section. `address` is added. A failed start stops what did start.
 */
export async function startDaemonBeforePostfix(address: string, config: Record<string, unknown>): Promise<DaemonBeforePostfix> {
  const postfix = await startPostfix();
  let env: TestDaemon | undefined;
  try {
    env = await startTestDaemon(deepMerge({ dovecot_auth: { listen: [] }, smtp: { upstream: { host: postfix.host, port: postfix.port } } }, config));
    await env.daemon.admin.addAddress(address, 'test');
  } catch (err) {
    await env?.stop();
    await postfix.stop();
    throw err;
  }
  const started = env;
  return {
    postfix,
    daemon: started.daemon,
    stop: async () => {
      await started.stop();
      await postfix.stop();
    },
  };
}
