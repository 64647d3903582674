import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { LoginResult, Protocol } from '../auth/types.js';
import type { SessionRegistry } from '../sessions/registry.js';

/**
 * What /metrics exports: login verdicts that passed through this surface
 * (nginx auth_http), live sessions by protocol read from the session
 * registry at scrape time, and the process's own metrics. A registry of its
 * own per surface, so several daemons in one process (tests) never collide.
 */
export class HttpMetrics {
  readonly registry = new Registry();
  readonly #logins: Counter<'surface' | 'protocol' | 'result' | 'reason'>;

  constructor(sessions: SessionRegistry) {
    this.#logins = new Counter({
      name: 'devicepass_logins_total',
      help: 'Login verdicts answered by this surface, by protocol, result and reason',
      labelNames: ['surface', 'protocol', 'result', 'reason'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'devicepass_live_sessions',
      help: 'Authenticated IMAP/SMTP sessions currently open, by protocol',
      labelNames: ['protocol'],
      registers: [this.registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const s of sessions.list()) counts.set(s.protocol, (counts.get(s.protocol) ?? 0) + 1);
        for (const [protocol, n] of counts) this.set({ protocol }, n);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'devicepass_' });
  }

  login(surface: string, protocol: Protocol, result: LoginResult): void {
    const reason = result.ok ? 'ok' : result.reason;
    this.#logins.inc({ surface, protocol, result: result.ok ? 'ok' : result.temporary ? 'temporary' : 'failed', reason });
  }
}
