/**
 * An in-process daemon with only the SMTP front, on ephemeral loopback ports,
 * relaying to a FakeMta (or to a loopback port where nothing listens).
 */
import type { Daemon } from '../../src/daemon.js';
import { FakeMta, deadPort } from '../unit/smtp/helpers.js';
import { startTestDaemon, type TestDaemon } from './daemon-env.js';
import { deepMerge } from './env.js';

export interface SmtpEnv {
  daemon: Daemon;
  /** The upstream; not started with `deadUpstream`. */
  mta: FakeMta;
  /** The port of the first `[smtp] listen` (STARTTLS). */
  plainPort: number;
  /** The port of the first `[smtp] listen_tls` (implicit TLS), when there is one. */
  tlsPort: number | undefined;
  /** Stops the daemon (removing its folder), then the FakeMta. */
  stop(): Promise<void>;
}

export interface SmtpEnvOptions {
  /**
   * Merged section by section over the defaults: `[smtp]` listening on
   * 127.0.0.1:0 plain and TLS with `[smtp.upstream]` at the FakeMta, the
   * Dovecot auth socket off (the other fronts are off in testConfig already).
   */
  config?: Record<string, unknown>;
  /** Point `[smtp.upstream]` at a loopback port where nothing listens. */
  deadUpstream?: boolean;
}

export async function startSmtpEnv(options: SmtpEnvOptions = {}): Promise<SmtpEnv> {
  const mta = new FakeMta();
  const upstreamPort = options.deadUpstream ? await deadPort() : await mta.start();
  const stopMta = () => (options.deadUpstream ? Promise.resolve() : mta.stop());
  const defaults = {
    dovecot_auth: { listen: [] },
    smtp: { listen: ['127.0.0.1:0'], listen_tls: ['127.0.0.1:0'], upstream: { host: '127.0.0.1', port: upstreamPort } },
  };
  let env: TestDaemon;
  try {
    env = await startTestDaemon(deepMerge(defaults, options.config ?? {}));
  } catch (err) {
    await stopMta();
    throw err;
  }
  const { daemon } = env;
  const [plain, secure] = daemon.surfaces.find((s) => s.name === 'smtp')!.addresses();
  return {
    daemon,
    mta,
    plainPort: Number(plain!.split(':').pop()),
    tlsPort: secure === undefined ? undefined : Number(secure.split(':').pop()),
    stop: async () => {
      await env.stop();
      await stopMta();
    },
  };
}
