import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ProfileSigner } from '../web/profile.js';
import { normalizeAddress } from '../credentials/address.js';
import { maskUrl } from '../log/mask-url.js';
import { formatDuration } from './duration.js';
import type { Config } from './load.js';
import { parseListen } from '../net/address.js';
import { durationKeys } from './schema.js';

/** One finding of the pre-start check, named by the key it is about (e.g. "tls.cert"). */
export interface ConfigFinding {
  key: string;
  message: string;
}

export interface ConfigCheck {
  /** The daemon refuses to start with any of these (exit code 2). */
  errors: ConfigFinding[];
  /** Legal but risky: logged loudly at start and printed by --check-config. */
  warnings: ConfigFinding[];
}

/**
 * What the schema cannot see from the text alone: that the certificate files
 * are readable, parse and belong together, that aliases are addresses, and
 * the combinations that are legal but unsafe. The same check runs at start and
 * for `devicepassd --check-config`, so a configuration that passes the check
 * does not fail later at start for a reason the check could have named.
 */
export function checkConfig(config: Config, now = Date.now()): ConfigCheck {
  const errors: ConfigFinding[] = [];
  const warnings: ConfigFinding[] = [];
  checkTls(config, now, errors, warnings);
  checkProfileSigning(config, errors);

  for (const [owner, senders] of Object.entries(config.smtp.aliases)) {
    if (normalizeAddress(owner) === null) errors.push({ key: `smtp.aliases.${owner}`, message: 'not a mail address' });
    for (const [i, sender] of senders.entries()) {
      if (normalizeAddress(sender) === null) errors.push({ key: `smtp.aliases.${owner}.${i}`, message: `not a mail address: ${JSON.stringify(sender)}` });
    }
  }

  checkStore(config.store, errors);
  checkMasterLogin('imap', config.imap.upstream, errors);
  checkMasterLogin('pop3', config.pop3.upstream, errors);
  if (config.smtp.upstream.tls === 'none' && !isLoopbackHost(config.smtp.upstream.host) && config.smtp.upstream.xclient) {
    warnings.push({
      key: 'smtp.upstream.tls',
      message: `messages and XCLIENT identities go to ${config.smtp.upstream.host} unencrypted: consider tls = "starttls"`,
    });
  }
  return { errors, warnings };
}

/** A shared store must be named, and its URL must parse (its password is never repeated in the message). */
function checkStore(store: Config['store'], errors: ConfigFinding[]): void {
  if (store.driver !== 'postgres') return;
  if (store.url === '' && process.env.PGHOST === undefined && process.env.PGDATABASE === undefined) {
    errors.push({ key: 'store.url', message: 'driver = "postgres" needs url (or the PGHOST / PGDATABASE environment variables)' });
    return;
  }
  for (const key of ['url', 'feed_url'] as const) {
    if (store[key] !== '' && !isPostgresUrl(store[key])) errors.push({ key: `store.${key}`, message: 'not a postgres:// URL' });
  }
}

function isPostgresUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
  } catch {
    return false;
  }
}

/** A proxying front's master login: both halves or neither, and never in plaintext across the network. */
function checkMasterLogin(front: 'imap' | 'pop3', upstream: Config['imap']['upstream'], errors: ConfigFinding[]): void {
  if (upstream.master_password !== '' && upstream.tls === 'none' && !isLoopbackHost(upstream.host)) {
    errors.push({
      key: `${front}.upstream.tls`,
      message: `the master password would cross the network to ${upstream.host} in plaintext: set tls = "starttls" or "implicit"`,
    });
  }
  if (upstream.master_user !== '' && upstream.master_password === '') {
    errors.push({ key: `${front}.upstream.master_password`, message: 'master_user is set without a master_password' });
  }
}

function checkTls(config: Config, now: number, errors: ConfigFinding[], warnings: ConfigFinding[]): void {
  const { cert, key } = config.tls;
  if (cert === '' && key === '') {
    const exposed = tlsListeners(config).filter((address) => !isLoopbackListen(address));
    if (exposed.length > 0) {
      warnings.push({
        key: 'tls.cert',
        message: `no certificate configured: the self-signed development certificate for localhost would be shown to clients on ${exposed.join(', ')}`,
      });
    }
    return;
  }
  if (cert === '' || key === '') {
    errors.push({ key: cert === '' ? 'tls.cert' : 'tls.key', message: 'cert and key are set together, or neither' });
    return;
  }
  const certText = readable(cert, 'tls.cert', errors);
  const keyText = readable(key, 'tls.key', errors);
  if (certText === null || keyText === null) return;
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(certText);
  } catch {
    errors.push({ key: 'tls.cert', message: `${cert} is not a PEM certificate` });
    return;
  }
  try {
    tls.createSecureContext({ cert: certText, key: keyText });
  } catch (err) {
    const why = /mismatch/i.test((err as Error).message) ? 'does not belong to the certificate' : 'is not a usable PEM private key';
    errors.push({ key: 'tls.key', message: `${key} ${why}` });
    return;
  }
  const notAfter = Date.parse(parsed.validTo);
  if (notAfter <= now) warnings.push({ key: 'tls.cert', message: `${cert} expired on ${new Date(notAfter).toISOString()}` });
  else if (notAfter - now < 14 * 86_400_000) warnings.push({ key: 'tls.cert', message: `${cert} expires on ${new Date(notAfter).toISOString()}` });
}

/** The profile signing pair: both or neither, readable, an RSA key of the first certificate. */
function checkProfileSigning(config: Config, errors: ConfigFinding[]): void {
  const { profile_signing_cert: cert, profile_signing_key: key } = config.web;
  if (cert === '' && key === '') return;
  if (cert === '' || key === '') {
    errors.push({ key: cert === '' ? 'web.profile_signing_cert' : 'web.profile_signing_key', message: 'profile_signing_cert and _key are set together, or neither' });
    return;
  }
  const certText = readable(cert, 'web.profile_signing_cert', errors);
  const keyText = readable(key, 'web.profile_signing_key', errors);
  if (certText === null || keyText === null) return;
  try {
    new ProfileSigner(certText, keyText);
  } catch (err) {
    errors.push({ key: 'web.profile_signing_key', message: (err as Error).message.replace(/^\[web\] /, '') });
  }
}

function readable(file: string, key: string, errors: ConfigFinding[]): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    errors.push({ key, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
    return null;
  }
}

function tlsListeners(config: Config): string[] {
  // plaintext listeners offer STARTTLS with the same certificate
  return [...config.imap.listen, ...config.imap.listen_tls, ...config.pop3.listen, ...config.pop3.listen_tls, ...config.smtp.listen, ...config.smtp.listen_tls, ...config.web.listen];
}

function isLoopbackListen(entry: string): boolean {
  const parsed = parseListen(entry);
  return parsed === null || parsed.kind === 'unix' || isLoopbackHost(parsed.host);
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const SECRET_KEYS = new Set(['master_password', 'nginx_secret']);
/** Values that may carry a password inside them: shown with it masked. */
const URL_KEYS = new Set(['store.url', 'store.feed_url']);

/**
 * The effective configuration as it could be written back: every default
 * filled in, paths resolved, durations as text again, secrets replaced.
 */
export function printableConfig(config: Config): Record<string, unknown> {
  const durations = durationKeys();
  const show = (value: unknown, path: string[]): unknown => {
    const key = path.join('.');
    if (typeof value === 'number' && durations.has(key)) return formatDuration(value);
    if (typeof value === 'string' && value !== '' && SECRET_KEYS.has(path.at(-1) ?? '')) return '********';
    if (typeof value === 'string' && URL_KEYS.has(key)) return maskUrl(value);
    if (Array.isArray(value) || value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, show(v, [...path, k])]));
  };
  const { file: _file, ...rest } = config;
  return show(rest, []) as Record<string, unknown>;
}
