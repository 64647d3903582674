import type { Config } from './config/load.js';
import { freezeConfig } from './config/load.js';

/**
 * What SIGHUP may change in a running daemon, by key path (a path names a key
 * and everything under it). Everything else is bound to what was opened or
 * sized at start — listeners, sockets, the database, cache and throttle sizes
 * — and needs a restart: a reload names such changes in the log and keeps the
 * old values, so the running daemon and its reported configuration agree.
 */
export const RELOADABLE: readonly string[] = [
  'log.level',
  'tls.cert',
  'tls.key',
  'auth.trusted_networks',
  'auth.generic_protocols',
  'auth.failure_delay',
  'auth.failure_delay_max',
  'auth.lockout_failures',
  'auth.ipv4_prefix',
  'auth.ipv6_prefix',
  'auth.network_hash_rate',
  'auth.network_hash_burst',
  'imap.upstream',
  'imap.idle_timeout',
  'imap.login_timeout',
  'imap.max_auth_failures',
  'imap.max_bad_commands',
  'pop3.upstream',
  'pop3.idle_timeout',
  'pop3.login_timeout',
  'pop3.max_auth_failures',
  'pop3.max_bad_commands',
  'smtp.sender_policy',
  'smtp.aliases',
  'smtp.upstream',
  'smtp.max_auth_failures',
  'smtp.login_timeout',
];

/** Values compared whole rather than walked: lists, and the aliases table. */
const LEAVES: ReadonlySet<string> = new Set(['smtp.aliases']);

export interface ReloadPlan {
  /** The configuration to run with: the new one, less the changes that need a restart. */
  effective: Config;
  /** Changed keys taken up now. */
  applied: string[];
  /** Changed keys that need a restart, left as they were. */
  needRestart: string[];
}

export function planReload(current: Config, next: Config): ReloadPlan {
  const applied: string[] = [];
  const needRestart: string[] = [];
  const effective = structuredClone(next) as Record<string, unknown>;
  for (const key of changedKeys(current, next)) {
    if (RELOADABLE.some((prefix) => key === prefix || key.startsWith(`${prefix}.`))) {
      applied.push(key);
    } else {
      needRestart.push(key);
      setPath(effective, key, structuredClone(getPath(current, key)));
    }
  }
  // the file the daemon runs from is whatever it started with
  effective.file = current.file;
  return { effective: freezeConfig(effective as Config), applied, needRestart };
}

function changedKeys(a: unknown, b: unknown, path: string[] = []): string[] {
  const key = path.join('.');
  if (isRecord(a) && isRecord(b) && !LEAVES.has(key)) {
    const names = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...names].flatMap((name) => changedKeys(a[name], b[name], [...path, name]));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [key];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function getPath(root: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, name) => (isRecord(node) ? node[name] : undefined), root);
}

function setPath(root: Record<string, unknown>, key: string, value: unknown): void {
  const names = key.split('.');
  let node = root;
  for (const name of names.slice(0, -1)) node = node[name] as Record<string, unknown>;
  node[names.at(-1)!] = value;
}
