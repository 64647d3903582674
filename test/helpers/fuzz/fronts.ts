/**
 * One in-process daemon with every front listening on loopback (IMAP, POP3,
 * SMTP submission, Dovecot SASL over TCP, HTTP with nginx auth_http, the
 * control socket), its log captured at debug level, and one address with a
 * device: the target of the socket fuzzers. IMAP and POP3 proxy to stand-in
 * upstreams.
 */
import { createLogger } from '../../../src/log/logger.js';
import { FakePop3Upstream } from '../fake-pop3-upstream.js';
import { MASTER, startImapEnv, type ImapEnv } from '../imap-env.js';
import { POP3_MASTER } from '../pop3-env.js';
import { b64, FUZZ_ADDRESS, FUZZ_PASSWORD, FUZZ_WRONG_PASSWORD, NGINX_SECRET, PROXY_PEER } from './identities.js';

export { FUZZ_ADDRESS, FUZZ_PASSWORD, FUZZ_WRONG_PASSWORD, NGINX_SECRET, PROXY_PEER };

export interface Fronts {
  env: ImapEnv;
  imap: { port: number };
  /** The POP3 front's plaintext listener (STLS). */
  pop3: { port: number };
  smtp: { port: number };
  sasl: { port: number };
  http: { port: number };
  control: { path: string };
  /** Every line the daemon logged so far. */
  logLines(): string[];
  stop(): Promise<void>;
}

const portOf = (address: string | undefined): number => Number(address?.slice(address.lastIndexOf(':') + 1));

export async function startFronts(): Promise<Fronts> {
  const lines: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
  const pop3Upstream = new FakePop3Upstream({ masterUser: POP3_MASTER.user, masterPassword: POP3_MASTER.password });
  const pop3UpstreamPort = await pop3Upstream.start();
  const env = await startImapEnv({
    devices: { phone: FUZZ_PASSWORD },
    scopes: ['imap', 'smtp', 'pop3'],
    address: FUZZ_ADDRESS,
    log,
    // connections from 127.0.0.2 come through a "load balancer": they must start with a PROXY header
    imap: { trusted_proxies: [`${PROXY_PEER}/32`] },
    // wrong passwords are the fuzzers' daily bread: no delay or lockout in the way of the next case
    auth: { failure_delay: '0s', failure_delay_max: '0s', lockout_failures: 1_000_000 },
    config: {
      // the relay has nowhere to go (port 1 on loopback refuses): a logged-in client meets its error path
      smtp: { listen: ['127.0.0.1:0'], listen_tls: [], max_unauthenticated_commands: 1000, upstream: { host: '127.0.0.1', port: 1 } },
      // the POP3 sentinel is a refused command and the dictionary's passwords are wrong: the limits must not end a connection after a few cases
      pop3: {
        listen: ['127.0.0.1:0'], listen_tls: [], max_bad_commands: 1000, max_auth_failures: 1000,
        upstream: { host: '127.0.0.1', port: pop3UpstreamPort, tls: 'none', master_user: POP3_MASTER.user, master_password: POP3_MASTER.password },
      },
      dovecot_auth: { listen: ['127.0.0.1:0'] },
      http: { listen: ['127.0.0.1:0'], nginx_secret: NGINX_SECRET },
    },
  });
  const surface = (name: string) => env.daemon.surfaces.find((s) => s.name === name)?.addresses() ?? [];
  return {
    env,
    imap: { port: env.plainPort },
    pop3: { port: portOf(surface('pop3')[0]) },
    smtp: { port: portOf(surface('smtp')[0]) },
    sasl: { port: portOf(surface('dovecot_auth')[0]) },
    http: { port: portOf(surface('http')[0]) },
    control: { path: env.daemon.config.control.socket },
    logLines: () => lines,
    stop: async () => {
      await env.stop();
      await pop3Upstream.stop();
    },
  };
}


/** The secrets as they could leak: plain, base64, inside a PLAIN message, URL-encoded. */
export function secretForms(): string[] {
  const forms = new Set<string>();
  for (const secret of [FUZZ_PASSWORD, FUZZ_WRONG_PASSWORD, NGINX_SECRET, MASTER.password, POP3_MASTER.password]) {
    forms.add(secret);
    forms.add(b64(secret));
    forms.add(b64(`\0${FUZZ_ADDRESS}\0${secret}`));
    forms.add(b64(`${FUZZ_ADDRESS}\0${FUZZ_ADDRESS}\0${secret}`));
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  return [...forms];
}

/**
 * A log line without the fields that hold the user name as the client typed
 * it: a login's name is logged by design, even when a confused client sent
 * its password there (so do Dovecot and Postfix). Everything else is searched.
 */
function withoutUserNames(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { address: _address, user: _user, ...rest } = record;
  if (rest.command === 'LOGIN' && Array.isArray(rest.args)) rest.args = rest.args.slice(1);
  // POP3's USER: its one argument is the user name (PASS is never logged)
  if (rest.surface === 'pop3' && rest.command === 'USER') delete rest.args;
  return JSON.stringify(rest);
}

/** The log lines that carry a secret in any of its forms (empty when the log is clean). */
export function leakedLines(lines: readonly string[]): string[] {
  const forms = secretForms();
  return lines.filter((line) => {
    const searched = withoutUserNames(line);
    return forms.some((f) => searched.includes(f));
  });
}
