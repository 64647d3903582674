import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** A duration written as "2s", "10m", "30d" (or seconds), carried as milliseconds. */
const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (use e.g. "2s", "10m", "30d")` });
    return z.NEVER;
  }
  return ms;
});

/** "host:port", "[v6]:port" or a Unix socket path (anything with a slash or ending in .sock). */
const listenAddress = z.string().min(1).refine((value) => parseListen(value) !== null, {
  message: 'expected "host:port", "[ipv6]:port" or a Unix socket path',
});

const cidr = z.string().refine((value) => parseCidr(value) !== null, { message: 'expected a network like "10.0.0.0/8" or "::1/128"' });

// Every key of a section has a default, so an absent section parses as {}. TypeScript cannot see
// that through the generic shape, hence the cast of the empty input.
const section = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).prefault({} as z.input<z.ZodObject<T>>);

/** A server as clients are told to reach it: empty host = the host of [web] public_url, port 0 = the daemon's own listener. */
const clientSettings = section({
  host: z.string().default(''),
  port: z.number().int().min(0).max(65535).default(0),
  /** tls (implicit) or starttls; empty = whichever the chosen port speaks. */
  security: z.enum(['', 'tls', 'starttls']).default(''),
});

export const configSchema = z.strictObject({
  data_dir: z.string().min(1).default('data'),
  control: section({
    socket: z.string().min(1).default('control.sock'),
    /** Empty: the socket is 0600 (owner only). A group name: 0660 and chgrp to it. */
    group: z.string().default(''),
    max_request_bytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(32 * 1024 * 1024),
  }),
  log: section({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  }),
  hashing: section({
    memory_kib: z.number().int().min(1024).max(4 * 1024 * 1024).default(19456),
    iterations: z.number().int().min(1).max(64).default(2),
    parallelism: z.number().int().min(1).max(16).default(1),
    /** argon2id computations in flight at once; 0 = one per CPU core. */
    concurrency: z.number().int().min(0).max(64).default(0),
    /** Hash requests waiting beyond this answer a temporary failure. */
    queue_max: z.number().int().min(1).default(1000),
    /** Waiting hash requests one client IP may hold; more answer a temporary failure. */
    queue_max_per_client: z.number().int().min(1).default(32),
  }),
  tls: section({
    cert: z.string().default(''),
    key: z.string().default(''),
  }),
  auth: section({
    trusted_networks: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
    cache_size: z.number().int().min(0).default(100_000),
    cache_ttl: duration.prefault('1h'),
    /** How long revoked and reset-away passwords are kept to name the device in the log. */
    tombstone_retention: duration.prefault('30d'),
    event_retention: duration.prefault('90d'),
    failure_delay: duration.prefault('2s'),
    failure_delay_max: duration.prefault('15s'),
    /** Fresh wrong passwords for one address within lockout_window before fresh attempts are refused. */
    lockout_failures: z.number().int().min(1).default(10),
    lockout_window: duration.prefault('15m'),
  }),
  imap: section({
    listen: z.array(listenAddress).default(['127.0.0.1:1143']),
    listen_tls: z.array(listenAddress).default(['127.0.0.1:1993']),
    /** PROXY protocol v1/v2 is accepted only from these networks (e.g. a load balancer). */
    trusted_proxies: z.array(cidr).default([]),
    /** Before login: silence longer than this ends the connection. */
    idle_timeout: duration.prefault('60s'),
    max_auth_failures: z.number().int().min(1).default(3),
    max_bad_commands: z.number().int().min(1).default(10),
    upstream: section({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(1).max(65535).default(143),
      tls: z.enum(['none', 'starttls', 'implicit']).default('none'),
      master_user: z.string().default(''),
      master_password: z.string().default(''),
    }),
  }),
  smtp: section({
    listen: z.array(listenAddress).default(['127.0.0.1:1587']),
    listen_tls: z.array(listenAddress).default(['127.0.0.1:1465']),
    trusted_proxies: z.array(cidr).default([]),
    /** The name in the greeting and EHLO reply (default: the host name). */
    hostname: z.string().default(''),
    max_message_bytes: z.number().int().min(1024).default(50 * 1024 * 1024),
    max_recipients: z.number().int().min(1).default(100),
    max_unauthenticated_commands: z.number().int().min(1).default(20),
    max_auth_failures: z.number().int().min(1).default(3),
    /** strict: MAIL FROM must be the login address (or one of its aliases); off: any sender. */
    sender_policy: z.enum(['strict', 'off']).default('strict'),
    /** Extra senders an address may use: { "alice@example.com" = ["sales@example.com"] }. */
    aliases: z.record(z.string(), z.array(z.string())).default({}),
    upstream: section({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(1).max(65535).default(25),
      tls: z.enum(['none', 'starttls', 'implicit']).default('none'),
      xclient: z.boolean().default(true),
    }),
  }),
  dovecot_auth: section({
    listen: z.array(listenAddress).default(['auth.sock']),
    /** Unix socket mode, octal text: the MTA's user must be able to connect (see group). */
    mode: z.string().regex(/^0?[0-7]{3}$/).default('0660'),
    /** Group owning the Unix socket, e.g. "postfix"; empty keeps the daemon's group. */
    group: z.string().default(''),
  }),
  http: section({
    listen: z.array(listenAddress).default(['127.0.0.1:8465']),
    /** nginx auth_http must send this in the X-Devicepass-Secret header; empty refuses every auth_http request. */
    nginx_secret: z.string().default(''),
  }),
  web: section({
    /** TLS with the [tls] certificate: invitation and setup pages, profiles, autoconfig, autodiscover. */
    listen: z.array(listenAddress).default(['127.0.0.1:8443']),
    /** The base of the links invitations print and of the profile download links. */
    public_url: z.url({ protocol: /^https?$/ }).default('https://localhost:8443'),
    /** PEM paths (RSA): sign Apple configuration profiles; both empty = profiles are unsigned. */
    profile_signing_cert: z.string().default(''),
    profile_signing_key: z.string().default(''),
    /** How long the one-time profile download stays available after the password page is shown. */
    profile_ttl: duration.prefault('10m'),
    /** What the pages and the autoconfig answers tell clients; empty/0 = this daemon's own listeners. */
    imap: clientSettings,
    smtp: clientSettings,
    pop3: clientSettings,
  }),
  notify: section({
    /** Mail the address itself when one of its devices is added, reset or revoked (through [smtp.upstream]). */
    enabled: z.boolean().default(false),
    /** The notices' From and envelope sender; empty = devicepass@ the host of [web] public_url. */
    from: z.string().default(''),
    retry_delay: duration.prefault('1m'),
    max_attempts: z.number().int().min(1).max(20).default(6),
    queue_max: z.number().int().min(1).default(1000),
  }),
});

export type RawConfig = z.infer<typeof configSchema>;

export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseListen(value: string): ListenAddress | null {
  const v6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value);
  const v4 = /^([^:/\[\]]+):(\d{1,5})$/.exec(value);
  const hostPort = v6 ?? v4;
  if (hostPort) {
    const port = Number(hostPort[2]);
    if (port > 65535) return null;
    const host = hostPort[1]!;
    if (v6 && isIP(host) !== 6) return null;
    return { kind: 'tcp', host, port };
  }
  if (value.includes('/') || value.endsWith('.sock')) return { kind: 'unix', path: value };
  return null;
}

export function parseCidr(value: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address, prefixText, extra] = value.split('/');
  if (address === undefined || extra !== undefined) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Paths ("auth.cache_ttl") of every key written as a duration, found in the
 * schema itself so a new duration key needs no second list: durations are the
 * only keys whose value goes through a transform pipe.
 */
export function durationKeys(): Set<string> {
  const keys = new Set<string>();
  const walk = (node: z.ZodType, path: string[]): void => {
    const def = node._zod.def as { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> };
    if (def.type === 'prefault' || def.type === 'default') return walk(def.innerType!, path);
    if (def.type === 'pipe') keys.add(path.join('.'));
    if (def.type === 'object') for (const [k, child] of Object.entries((node as z.ZodObject).shape)) walk(child as z.ZodType, [...path, k]);
  };
  walk(configSchema, []);
  return keys;
}
