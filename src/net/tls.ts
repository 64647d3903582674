import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** Where they came from: the configured files or the generated development certificate. */
  source: string;
}

export const DEV_CERT = 'tls/localhost.crt';
export const DEV_KEY = 'tls/localhost.key';

/**
 * The certificate every TLS listener uses: `[tls] cert`/`key` when set, else a
 * self-signed certificate for localhost made once under data_dir — enough to
 * run and test on loopback, never meant for real clients.
 */
export async function loadTlsMaterial(config: Config, log: Logger): Promise<TlsMaterial> {
  if (config.tls.cert || config.tls.key) {
    if (!config.tls.cert || !config.tls.key) throw new Error('[tls] needs both cert and key, or neither');
    return { key: readFileSync(config.tls.key, 'utf8'), cert: readFileSync(config.tls.cert, 'utf8'), source: config.tls.cert };
  }
  const certFile = path.join(config.data_dir, DEV_CERT);
  const keyFile = path.join(config.data_dir, DEV_KEY);
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(path.dirname(certFile), { recursive: true, mode: 0o700 });
    const made = await generate([{ name: 'commonName', value: 'localhost' }], {
      notAfterDate: new Date(Date.now() + 3650 * 86_400_000),
      keyType: 'ec',
      curve: 'P-256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] }],
    });
    writeFileSync(keyFile, made.private, { mode: 0o600 });
    writeFileSync(certFile, made.cert, { mode: 0o644 });
    chmodSync(keyFile, 0o600);
    log.warn({ cert: certFile }, 'no [tls] certificate configured: made a self-signed one for localhost');
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), source: certFile };
}

/** TLS 1.2 and newer only, Node's default cipher list (no RC4, no export, forward secrecy first). */
export function serverTlsOptions(material: TlsMaterial): tls.TlsOptions {
  return { key: material.key, cert: material.cert, minVersion: 'TLSv1.2' };
}

export function secureContext(material: TlsMaterial): tls.SecureContext {
  return tls.createSecureContext(serverTlsOptions(material));
}

/**
 * The certificate every TLS listener uses now. A reload replaces it as a
 * whole: the new context is built first (so a bad pair is refused and the
 * old one stays), then new handshakes get it, while sessions already
 * encrypted keep the one they negotiated.
 */
export class TlsCredentials {
  #material: TlsMaterial;
  #context: tls.SecureContext;
  readonly #listeners: Array<(material: TlsMaterial) => void> = [];

  constructor(material: TlsMaterial) {
    this.#material = material;
    this.#context = secureContext(material);
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  /** The context for the next handshake: read it then, not once at start. */
  get context(): tls.SecureContext {
    return this.#context;
  }

  /** Throws (changing nothing) when the pair does not make a context. */
  replace(material: TlsMaterial): void {
    const context = secureContext(material);
    this.#material = material;
    this.#context = context;
    for (const listener of this.#listeners) listener(material);
  }

  /** For servers that hold their own copy of the context (smtp-server). */
  onReplace(listener: (material: TlsMaterial) => void): void {
    this.#listeners.push(listener);
  }
}
