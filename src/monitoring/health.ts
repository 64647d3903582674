import net from 'node:net';
import type { Config } from '../config/load.js';
import type { Surface } from '../front-context.js';
import { formatHostPort } from '../net/address.js';

export type PartStatus = 'ok' | 'failing';

export interface HealthReport {
  status: PartStatus;
  store: PartStatus;
  /** Bound addresses per surface; a surface without any is failing. */
  listeners: Record<string, { status: PartStatus; addresses: string[] }>;
  /**
   * Each upstream a running front hands sessions to, by TCP connect, as of
   * the last probe (`checked`); "unknown" until the first probe, made when
   * /healthz is first asked (nothing connects to an upstream unasked), has answered.
   */
  upstreams: Record<string, { status: PartStatus | 'unknown'; target: string; error?: string; checked?: string }>;
}

export interface HealthDeps {
  /** True when the store takes a write lock (and is not read-only or gone). */
  storeWritable: () => boolean;
  surfaces: () => readonly Surface[];
  config: () => Config;
  /** How long a connect to an upstream may take before it counts as down. */
  probeTimeoutMs?: number;
  /** Probes older than this are redone (in the background) when a report is asked for: a monitor polling every second must not become a load on Dovecot. */
  cacheMs?: number;
}

interface Probe {
  at: number;
  status: PartStatus;
  error?: string;
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
 * "failing" (and HTTP 503) when any of them is. The report is made
 * synchronously from the last upstream probes, so the answer is written
 * before the client can be gone (a monitor that half-closes after its
 * request still reads it); stale probes are redone behind it.
 */
export class HealthCheck {
  readonly #d: Required<HealthDeps>;
  readonly #probes = new Map<string, Probe>();
  readonly #probing = new Set<string>();

  constructor(deps: HealthDeps) {
    this.#d = { probeTimeoutMs: 2000, cacheMs: 5000, ...deps };
  }

  report(): HealthReport {
    let store: PartStatus;
    try {
      store = this.#d.storeWritable() ? 'ok' : 'failing';
    } catch {
      store = 'failing';
    }
    const listeners: HealthReport['listeners'] = {};
    for (const surface of this.#d.surfaces()) {
      const addresses = surface.addresses();
      listeners[surface.name] = { status: addresses.length > 0 ? 'ok' : 'failing', addresses };
    }
    const upstreams: HealthReport['upstreams'] = {};
    for (const { surface, target, host, port } of this.#targets()) {
      const probe = this.#probes.get(target);
      if (!probe || Date.now() - probe.at >= this.#d.cacheMs) void this.#probe(target, host, port);
      upstreams[surface] = probe
        ? { status: probe.status, target, ...(probe.error ? { error: probe.error } : {}), checked: new Date(probe.at).toISOString() }
        : { status: 'unknown', target };
    }
    const failing = store === 'failing'
      || Object.values(listeners).some((l) => l.status === 'failing')
      || Object.values(upstreams).some((u) => u.status === 'failing');
    return { status: failing ? 'failing' : 'ok', store, listeners, upstreams };
  }

  #targets(): Array<{ surface: string; target: string; host: string; port: number }> {
    const config = this.#d.config();
    return this.#d.surfaces().flatMap((surface) => {
      const upstreamOf = UPSTREAM_OF[surface.name];
      if (!upstreamOf) return [];
      const { host, port } = upstreamOf(config);
      return [{ surface: surface.name, target: formatHostPort(host, port), host, port }];
    });
  }

  #probe(target: string, host: string, port: number): Promise<void> {
    if (this.#probing.has(target)) return Promise.resolve();
    this.#probing.add(target);
    return new Promise<void>((resolve) => {
      const socket = net.connect({ host, port });
      const done = (status: PartStatus, error?: string) => {
        socket.destroy();
        this.#probes.set(target, { at: Date.now(), status, ...(error ? { error } : {}) });
        this.#probing.delete(target);
        resolve();
      };
      socket.setTimeout(this.#d.probeTimeoutMs, () => done('failing', 'timed out'));
      socket.once('connect', () => done('ok'));
      socket.once('error', (err: NodeJS.ErrnoException) => done('failing', err.code ?? err.message));
    });
  }
}
