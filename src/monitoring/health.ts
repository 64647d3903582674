import net from 'node:net';
import type { Config } from '../config/load.js';
import type { Surface } from '../surfaces.js';

export type PartStatus = 'ok' | 'failing';

export interface HealthReport {
  status: PartStatus;
  store: PartStatus;
  /** Bound addresses per surface; a surface without any is failing. */
  listeners: Record<string, { status: PartStatus; addresses: string[] }>;
  /** Each upstream a running front hands sessions to, by TCP connect. */
  upstreams: Record<string, { status: PartStatus; target: string; error?: string }>;
}

export interface HealthDeps {
  /** True when the store takes a write lock (and is not read-only or gone). */
  storeWritable: () => boolean;
  surfaces: () => readonly Surface[];
  config: () => Config;
  /** How long a connect to an upstream may take before it counts as down. */
  probeTimeoutMs?: number;
  /** Upstream answers are reused this long: a monitor polling /healthz every second must not become a load on Dovecot. */
  cacheMs?: number;
}

interface Probe {
  at: number;
  result: Promise<{ status: PartStatus; error?: string }>;
}

/** The fronts whose sessions go on to an upstream, and where their configuration names it. */
const UPSTREAM_OF: Readonly<Record<string, (config: Config) => { host: string; port: number }>> = {
  imap: (config) => config.imap.upstream,
  smtp: (config) => config.smtp.upstream,
  pop3: (config) => config.pop3.upstream,
};

/**
 * /healthz: every part that serves a login — the store (writable), each
 * surface's listeners, each upstream a front hands sessions to — with
 * "failing" (and HTTP 503) when any of them is.
 */
export class HealthCheck {
  readonly #d: Required<HealthDeps>;
  readonly #probes = new Map<string, Probe>();

  constructor(deps: HealthDeps) {
    this.#d = { probeTimeoutMs: 2000, cacheMs: 5000, ...deps };
  }

  async report(): Promise<HealthReport> {
    const config = this.#d.config();
    let store: PartStatus;
    try {
      store = this.#d.storeWritable() ? 'ok' : 'failing';
    } catch {
      store = 'failing';
    }
    const listeners: HealthReport['listeners'] = {};
    const upstreams: HealthReport['upstreams'] = {};
    const pending: Array<Promise<void>> = [];
    for (const surface of this.#d.surfaces()) {
      const addresses = surface.addresses();
      listeners[surface.name] = { status: addresses.length > 0 ? 'ok' : 'failing', addresses };
      const upstreamOf = UPSTREAM_OF[surface.name];
      if (!upstreamOf) continue;
      const { host, port } = upstreamOf(config);
      const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      pending.push(this.#probe(target, host, port).then((result) => void (upstreams[surface.name] = { ...result, target })));
    }
    await Promise.all(pending);
    const failing = store === 'failing'
      || Object.values(listeners).some((l) => l.status === 'failing')
      || Object.values(upstreams).some((u) => u.status === 'failing');
    return { status: failing ? 'failing' : 'ok', store, listeners, upstreams };
  }

  #probe(target: string, host: string, port: number): Promise<{ status: PartStatus; error?: string }> {
    const cached = this.#probes.get(target);
    if (cached && Date.now() - cached.at < this.#d.cacheMs) return cached.result;
    const result = new Promise<{ status: PartStatus; error?: string }>((resolve) => {
      const socket = net.connect({ host, port });
      const done = (outcome: { status: PartStatus; error?: string }) => {
        socket.destroy();
        resolve(outcome);
      };
      socket.setTimeout(this.#d.probeTimeoutMs, () => done({ status: 'failing', error: 'timed out' }));
      socket.once('connect', () => done({ status: 'ok' }));
      socket.once('error', (err: NodeJS.ErrnoException) => done({ status: 'failing', error: err.code ?? err.message }));
    });
    this.#probes.set(target, { at: Date.now(), result });
    return result;
  }
}
