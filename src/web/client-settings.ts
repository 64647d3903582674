import type { Config } from '../config/load.js';
import { parseListen } from '../net/address.js';

export type MailProtocol = 'imap' | 'smtp' | 'pop3';

/** One server as a mail client is told to reach it. */
export interface ServerSetting {
  protocol: MailProtocol;
  host: string;
  port: number;
  /** tls: TLS from the first byte; starttls: plaintext upgraded with STARTTLS/STLS. */
  security: 'tls' | 'starttls';
}

export type ClientSettings = Readonly<Record<MailProtocol, ServerSetting> & {
  /** Whether to offer POP3 to clients that look for settings: the daemon serves it, or [web.pop3] names a server. */
  offersPop3: boolean;
}>;

/** The well-known ports, for when the daemon does not serve a protocol itself. */
const STANDARD: Record<MailProtocol, { tls: number; starttls: number }> = {
  imap: { tls: 993, starttls: 143 },
  smtp: { tls: 465, starttls: 587 },
  pop3: { tls: 995, starttls: 110 },
};

interface Listeners { listen?: readonly string[]; listen_tls?: readonly string[] }

/**
 * What the setup page, the profiles and the autoconfig answers tell clients:
 * `[web.imap]`, `[web.smtp]`, `[web.pop3]` where set, else this daemon's own
 * listeners (implicit TLS preferred), on the host of `public_url`.
 */
export function clientSettings(config: Config): ClientSettings {
  const publicHost = new URL(config.web.public_url).hostname.replace(/^\[|\]$/g, '');
  const pop3: Listeners = config.pop3;
  const own: Record<MailProtocol, Listeners> = { imap: config.imap, smtp: config.smtp, pop3 };
  const resolve = (protocol: MailProtocol): ServerSetting => {
    const chosen = config.web[protocol];
    const ownTls = firstPort(own[protocol].listen_tls);
    const ownPlain = firstPort(own[protocol].listen);
    let port = chosen.port;
    let security = chosen.security || null;
    if (port === 0) {
      if (security !== 'starttls' && ownTls !== null) [port, security] = [ownTls, 'tls'];
      else if (security !== 'tls' && ownPlain !== null) [port, security] = [ownPlain, 'starttls'];
      else port = STANDARD[protocol][security ?? 'tls'];
    }
    security ??= port === STANDARD[protocol].starttls || port === ownPlain ? 'starttls' : 'tls';
    return { protocol, host: chosen.host || publicHost, port, security };
  };
  const offersPop3 = config.web.pop3.port !== 0 || config.web.pop3.host !== '' || firstPort(pop3.listen_tls) !== null || firstPort(pop3.listen) !== null;
  return Object.freeze({ imap: resolve('imap'), smtp: resolve('smtp'), pop3: resolve('pop3'), offersPop3 });
}

/** The port of the first TCP listen address with a real port (0 is a test's ephemeral port: not something to tell a client). */
function firstPort(list: readonly string[] | undefined): number | null {
  for (const entry of list ?? []) {
    const parsed = parseListen(entry);
    if (parsed?.kind === 'tcp' && parsed.port !== 0) return parsed.port;
  }
  return null;
}
