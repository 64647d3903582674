import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { PACKAGE_ROOT } from '../paths.js';
import { parseListen, type ListenAddress } from '../net/address.js';
import { configSchema, type RawConfig } from './schema.js';

/** The validated, path-resolved, frozen configuration every module receives. */
export type Config = Readonly<
  Omit<RawConfig, 'data_dir'> & {
    /** Absolute path of the file this was read from (null when built from an object). */
    file: string | null;
    data_dir: string;
  }
>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_CONFIG_FILE = path.join(PACKAGE_ROOT, 'config', 'default.toml');

/** `--config`, else $DEVICEPASS_CONFIG, else the embedded default. */
export function configFilePath(explicit?: string): string {
  return path.resolve(explicit ?? process.env.DEVICEPASS_CONFIG ?? DEFAULT_CONFIG_FILE);
}

export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseConfigText(text, file);
}

/** TOML text as read from `file` (which only places relative paths) to the validated config; ConfigError for anything wrong. */
export function parseConfigText(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    throw new ConfigError(tomlErrorMessage(err, file));
  }
  return buildConfig(raw, file);
}

/**
 * `file:line:column: reason`. smol-toml's own message goes on to quote the
 * lines around the error, and a line there may hold master_password or
 * nginx_secret: only its first line is kept.
 */
function tomlErrorMessage(err: unknown, file: string): string {
  const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  const at = err instanceof TomlError ? `:${err.line}:${err.column}` : '';
  return `${file}${at}: ${reason}`;
}

/**
 * Validates `raw` and resolves paths: a relative data_dir against the config
 * file's own folder (config/default.toml says "../data", the checkout root's
 * ./data; /etc/devicepass.toml with "devicepass" means /etc/devicepass), every
 * other relative path against data_dir.
 */
export function buildConfig(raw: unknown, file: string | null = null): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(top)'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n${lines.join('\n')}`);
  }
  const value = result.data;
  const base = file ? path.dirname(path.resolve(file)) : process.cwd();
  const dataDir = path.resolve(base, value.data_dir);
  const inData = (p: string) => (p === '' ? '' : path.resolve(dataDir, p));
  const resolveListen = (list: string[]) =>
    list.map((entry) => (parseListen(entry)?.kind === 'unix' ? path.resolve(dataDir, entry) : entry));

  const dovecotListen = resolveListen(value.dovecot_auth.listen);
  const trustedSockets = value.dovecot_auth.trusted_sockets.map((entry) => path.resolve(dataDir, entry));
  checkTrustedSockets(trustedSockets, dovecotListen, value.dovecot_auth.mode, file);

  return deepFreeze({
    ...value,
    file: file ? path.resolve(file) : null,
    data_dir: dataDir,
    control: { ...value.control, socket: inData(value.control.socket) },
    tls: { cert: inData(value.tls.cert), key: inData(value.tls.key) },
    imap: { ...value.imap, listen: resolveListen(value.imap.listen), listen_tls: resolveListen(value.imap.listen_tls) },
    smtp: { ...value.smtp, listen: resolveListen(value.smtp.listen), listen_tls: resolveListen(value.smtp.listen_tls) },
    pop3: { ...value.pop3, listen: resolveListen(value.pop3.listen), listen_tls: resolveListen(value.pop3.listen_tls) },
    dovecot_auth: { ...value.dovecot_auth, listen: dovecotListen, trusted_sockets: trustedSockets },
    http: { ...value.http, listen: resolveListen(value.http.listen) },
    web: {
      ...value.web, listen: resolveListen(value.web.listen),
      profile_signing_cert: inData(value.web.profile_signing_cert), profile_signing_key: inData(value.web.profile_signing_key),
    },
  });
}

/**
 * A trusted socket exempts whoever can open it, so it must be one of the Unix
 * sockets listened on, and its mode must keep other users out (connecting
 * needs write permission).
 */
function checkTrustedSockets(trusted: readonly string[], listen: readonly string[], mode: string, file: string | null): void {
  const where = file ? ` in ${file}` : '';
  for (const socket of trusted) {
    if (!listen.includes(socket) || parseListen(socket)?.kind !== 'unix') {
      throw new ConfigError(`invalid configuration${where}:\n  dovecot_auth.trusted_sockets: ${socket} is not a Unix socket of dovecot_auth.listen`);
    }
  }
  if (trusted.length > 0 && (parseInt(mode, 8) & 0o002) !== 0) {
    throw new ConfigError(`invalid configuration${where}:\n  dovecot_auth.trusted_sockets: mode ${mode} lets every local user connect; use 0660 with a group`);
  }
}

export function listenAddresses(list: readonly string[]): ListenAddress[] {
  return list.map((entry) => parseListen(entry)!);
}

/** A configuration built by hand (a reload's effective one) gets the same protection as a loaded one. */
export function freezeConfig(config: Config): Config {
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
