import { parseCidr, parseListen } from '../net/address.js';
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

/**
 * The connection limits of one front (src/net/connection-gate.ts): every
 * connection, logged in or not, in total and from one client network (an
 * IPv4 address, an IPv6 /64).
 */
const connectionLimits = (defaults: { total: number; perNetwork: number }) => ({
  max_connections: z.number().int().min(1).default(defaults.total),
  max_connections_per_network: z.number().int().min(1).default(defaults.perNetwork),
});

/** Fronts with a login add limits on the connections that have not logged in yet, and a deadline to do so. */
const loginLimits = (defaults: { total: number; perNetwork: number }) => ({
  max_unauthenticated: z.number().int().min(1).default(defaults.total),
  max_unauthenticated_per_network: z.number().int().min(1).default(defaults.perNetwork),
  /** From accept to a successful login, whatever the client sends meanwhile; then the connection is closed. */
  login_timeout: duration.prefault('3m'),
});

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
  daemon: section({
    /** SIGTERM: how long logins being decided and SMTP messages in flight may take to finish before every session is ended. */
    shutdown_grace: duration.prefault('30s'),
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
    /** Protocols the imported generic password still works for; [] refuses it everywhere (the end of a migration). */
    generic_protocols: z.array(z.enum(['imap', 'smtp', 'pop3'])).default(['imap', 'smtp', 'pop3']),
    cache_size: z.number().int().min(0).default(100_000),
    cache_ttl: duration.prefault('1h'),
    /** How long revoked and reset-away passwords are kept to name the device in the log. */
    tombstone_retention: duration.prefault('30d'),
    event_retention: duration.prefault('90d'),
    /** Failed logins are stored as one row per address, reason and device per window of this length. */
    audit_window: duration.prefault('1m'),
    /** The audit log keeps at most about this many rows; past it the oldest login records go first. */
    event_max_rows: z.number().int().min(1000).default(1_000_000),
    failure_delay: duration.prefault('2s'),
    failure_delay_max: duration.prefault('15s'),
    /**
     * Fresh wrong passwords within lockout_window: from one client network on one address before
     * that network's fresh attempts on it are refused (temporarily); from all networks on one
     * address before every failure on it waits failure_delay_max.
     */
    lockout_failures: z.number().int().min(1).default(10),
    lockout_window: duration.prefault('15m'),
    /** Leading bits of a client address that make its network, the unit everything is throttled by. */
    ipv4_prefix: z.number().int().min(8).max(32).default(32),
    ipv6_prefix: z.number().int().min(32).max(128).default(64),
    /** Hashes one client network may start per second on average, and at once (its token bucket). */
    network_hash_rate: z.number().positive().max(10_000).default(4),
    network_hash_burst: z.number().int().min(1).max(100_000).default(32),
    /** Client networks and addresses the throttle remembers at most (least recently seen go first). */
    throttle_max_networks: z.number().int().min(100).default(100_000),
    throttle_max_addresses: z.number().int().min(100).default(100_000),
  }),
  store: section({
    /** sqlite: one file under data_dir (one node); postgres: one database several nodes share. */
    driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /** postgres://user:password@host:port/database; parts left out come from the PG* environment variables. */
    url: z.string().default(''),
    /**
     * Where the journal feed connects, when not through `url`: LISTEN needs a
     * session of its own, which a transaction-pooling PgBouncer does not keep.
     */
    feed_url: z.string().default(''),
    /** Connections this node keeps to PostgreSQL for logins and administration (LISTEN has one more of its own). */
    pool_size: z.number().int().min(2).max(200).default(10),
    /** How long a node's lease lasts: a node that could not renew it for this long no longer trusts its cache. */
    lease: duration.prefault('2s'),
    /** MiB kept free beside the database for administrative writes on a full disk; 0 turns it off. */
    reserve_mib: z.number().int().min(0).max(1024).default(16),
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
    ...connectionLimits({ total: 10_000, perNetwork: 1000 }),
    ...loginLimits({ total: 2000, perNetwork: 100 }),
    upstream: section({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(1).max(65535).default(143),
      tls: z.enum(['none', 'starttls', 'implicit']).default('none'),
      master_user: z.string().default(''),
      master_password: z.string().default(''),
    }),
  }),
  pop3: section({
    listen: z.array(listenAddress).default(['127.0.0.1:1110']),
    listen_tls: z.array(listenAddress).default(['127.0.0.1:1995']),
    /** PROXY protocol v1/v2 is accepted only from these networks (e.g. a load balancer). */
    trusted_proxies: z.array(cidr).default([]),
    /** Before login: no complete command line for this long ends the connection. */
    idle_timeout: duration.prefault('60s'),
    ...connectionLimits({ total: 10_000, perNetwork: 1000 }),
    ...loginLimits({ total: 2000, perNetwork: 100 }),
    max_auth_failures: z.number().int().min(1).default(3),
    max_bad_commands: z.number().int().min(1).default(10),
    upstream: section({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(1).max(65535).default(110),
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
    ...connectionLimits({ total: 2000, perNetwork: 200 }),
    ...loginLimits({ total: 1000, perNetwork: 100 }),
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
    /**
     * Unix sockets of `listen` whose every client is exempt from the failure delay and the lockout
     * (e.g. a socket only the MTA of a webmail may open). rip= never decides it.
     */
    trusted_sockets: z.array(z.string().min(1)).default([]),
    /** TCP peers (their own address, not rip=) whose requests are exempt likewise. */
    trusted_peers: z.array(cidr).default([]),
    /** A connection silent this long while none of its requests is being decided is closed. */
    idle_timeout: duration.prefault('5m'),
    /** Requests one connection may have unanswered; more get a temporary FAIL. */
    max_pending_per_connection: z.number().int().min(1).max(4096).default(256),
    ...connectionLimits({ total: 1000, perNetwork: 500 }),
  }),
  http: section({
    listen: z.array(listenAddress).default(['127.0.0.1:8465']),
    ...connectionLimits({ total: 1024, perNetwork: 512 }),
    /** nginx auth_http must send this in the X-Devicepass-Secret header; empty refuses every auth_http request. */
    nginx_secret: z.string().default(''),
  }),
  web: section({
    /** TLS with the [tls] certificate: invitation and setup pages, profiles, autoconfig, autodiscover. */
    listen: z.array(listenAddress).default(['127.0.0.1:8443']),
    /** A user's setup takes a few requests: far above that, so one network's flood cannot hold every socket. */
    ...connectionLimits({ total: 512, perNetwork: 64 }),
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
