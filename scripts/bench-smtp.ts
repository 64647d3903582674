/**
 * Benchmarks the SMTP submission front against a real Postfix on loopback
 * (scripts/e2e/postfix.ts; needs root and Debian's postfix):
 *   - sessions/s: connect, EHLO, AUTH PLAIN (proof cache hot), QUIT — and the
 *     AUTH step's own latency (command sent → 235);
 *   - messages/s relayed on established authenticated sessions, with per-message p50/p99;
 *   - the latency devicepass adds to one submission (MAIL FROM → final 250,
 *     one at a time) against the same client talking to Postfix directly, in
 *     the same run.
 * Each figure is the median of several runs. Usage:
 *   npm run build && node dist/scripts/bench-smtp.js [--runs 3 --sessions 400 --messages 400 --concurrency 16 --serial 200]
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { UpstreamClient } from '../src/smtp/upstream-client.js';
import { spawnDevicepassd } from './e2e/devicepassd.js';
import { freePort, pinSelf, type Pinning } from './e2e/host.js';
import { startPostfix, type PostfixInstance } from './e2e/postfix.js';
import { dovecotAvailable, run as runTool, startDovecot, type DovecotInstance } from './e2e/sasl-dovecot.js';
import { postfixAvailable, startSaslPostfix, type SaslPostfix } from './e2e/sasl-postfix.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const RUNS = Number(args.get('runs') ?? 3);
const SESSIONS = Number(args.get('sessions') ?? 400);
const MESSAGES = Number(args.get('messages') ?? 400);
const CONCURRENCY = Number(args.get('concurrency') ?? 16);
const SERIAL = Number(args.get('serial') ?? 200);
/** Postfix with Dovecot SASL pays a full argon2id per AUTH, so that path gets fewer samples. */
const SASL_SESSIONS = Number(args.get('sasl-sessions') ?? 48);
const SASL_SERIAL = Number(args.get('sasl-serial') ?? 40);
/** --pin 1: devicepassd on CPU 0, the load generator, Postfix and Dovecot on CPU 1 (see host.ts). */
const PIN: Pinning | null = args.get('pin') === '1' ? { daemon: '0', others: '1' } : null;
const ADDRESS = 'bench@example.com';
const BODY = `From: <${ADDRESS}>\r\nTo: <sink@example.net>\r\nSubject: bench\r\n\r\n${'The quick brown fox jumps over the lazy dog.\r\n'.repeat(40)}`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

interface Target {
  port: number;
  /** AUTH PLAIN credentials; null talks to Postfix directly (loopback is in its mynetworks). */
  auth: { user: string; pass: string } | null;
}

async function open(target: Target, name: string): Promise<UpstreamClient> {
  const client = await UpstreamClient.connect({ host: '127.0.0.1', port: target.port, tls: 'none', heloName: name });
  if (target.auth) {
    const reply = await client.command(`AUTH PLAIN ${Buffer.from(`\0${target.auth.user}\0${target.auth.pass}`).toString('base64')}`);
    if (reply.code !== 235) throw new Error(`AUTH failed: ${reply.code} ${reply.lines.join(' ')}`);
  }
  return client;
}

/** One transaction; returns its duration in ms (MAIL FROM sent → final reply). */
async function send(client: UpstreamClient): Promise<number> {
  const start = performance.now();
  for (const line of [`MAIL FROM:<${ADDRESS}>`, 'RCPT TO:<sink@example.net>']) {
    const reply = await client.command(line);
    if (reply.code !== 250) throw new Error(`${line}: ${reply.code} ${reply.lines.join(' ')}`);
  }
  const go = await client.command('DATA');
  if (go.code !== 354) throw new Error(`DATA: ${go.code}`);
  const done = await client.message(Readable.from([Buffer.from(BODY)]), () => false);
  if (done.code !== 250) throw new Error(`message: ${done.code} ${done.lines.join(' ')}`);
  return performance.now() - start;
}

async function workers(count: number, total: number, body: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: count }, async () => {
    while (next < total) await body(next++);
  }));
  return (performance.now() - start) / 1000;
}

/** Sessions with AUTH: rate, and the AUTH step's latencies. */
async function sessions(target: Target, total = SESSIONS): Promise<{ rate: number; auth: number[] }> {
  const auth: number[] = [];
  const seconds = await workers(CONCURRENCY, total, async () => {
    const client = await UpstreamClient.connect({ host: '127.0.0.1', port: target.port, tls: 'none', heloName: 'bench-client' });
    const start = performance.now();
    const reply = await client.command(`AUTH PLAIN ${Buffer.from(`\0${target.auth!.user}\0${target.auth!.pass}`).toString('base64')}`);
    auth.push(performance.now() - start);
    if (reply.code !== 235) throw new Error(`AUTH failed: ${reply.code}`);
    await client.command('QUIT');
    client.destroy();
  });
  return { rate: total / seconds, auth };
}

/** Messages over CONCURRENCY authenticated sessions: rate and per-message latencies. */
async function messages(target: Target): Promise<{ rate: number; times: number[] }> {
  const clients = await Promise.all(Array.from({ length: CONCURRENCY }, () => open(target, 'bench-client')));
  // One untimed message per session first. devicepass connects to Postfix once AUTH succeeds, so
  // a session's first message also waits for that connection (16 Postfix smtpd processes forking
  // at once), while the straight path's connection was made inside open(), before any timing.
  // The first-message cost is timed on its own by wholeSessions(); here both paths are timed
  // on established sessions alike.
  await Promise.all(clients.map((client) => send(client)));
  const times: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(clients.map(async (client) => {
    while (next++ < MESSAGES) times.push(await send(client));
  }));
  const rate = MESSAGES / ((performance.now() - start) / 1000);
  for (const client of clients) client.quit();
  return { rate, times };
}

/** Whole sessions one at a time (connect, EHLO, AUTH, one message, QUIT): durations, and the AUTH step's. */
async function wholeSessions(target: Target, count: number): Promise<{ sessions: number[]; auth: number[] }> {
  const sessions: number[] = [];
  const auth: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const client = await UpstreamClient.connect({ host: '127.0.0.1', port: target.port, tls: 'none', heloName: 'bench-client' });
    if (target.auth) {
      const authStart = performance.now();
      const reply = await client.command(`AUTH PLAIN ${Buffer.from(`\0${target.auth.user}\0${target.auth.pass}`).toString('base64')}`);
      auth.push(performance.now() - authStart);
      if (reply.code !== 235) throw new Error(`AUTH failed: ${reply.code}`);
    }
    await send(client);
    await client.command('QUIT');
    sessions.push(performance.now() - start);
    client.destroy();
  }
  return { sessions, auth };
}

/** One submission at a time on one session: the latency a single client sees. */
async function serial(target: Target): Promise<number[]> {
  const client = await open(target, 'bench-client');
  const times: number[] = [];
  for (let i = 0; i < SERIAL; i++) times.push(await send(client));
  client.quit();
  return times;
}

/**
 * devicepassd as its own process, as in production: the benchmark client must
 * not share the daemon's event loop. The device is added through the CLI.
 */
async function startDevicepass(dir: string, upstreamPort: number): Promise<{ child: ChildProcess; port: number; password: string }> {
  const port = await freePort();
  const { child, cli } = await spawnDevicepassd(dir, `[imap]
listen = []
listen_tls = []
[pop3]
listen = []
listen_tls = []
[dovecot_auth]
listen = []
[http]
listen = []
[web]
listen = []
[smtp]
listen = ["127.0.0.1:${port}"]
listen_tls = []
[smtp.upstream]
host = "127.0.0.1"
port = ${upstreamPort}
xclient = true
`, PIN ? { cpus: PIN.daemon } : {});
  await cli('address', 'add', ADDRESS);
  const { stdout } = await cli('device', 'add', ADDRESS, '--name', 'bench', '--scopes', 'smtp');
  return { child, port, password: (JSON.parse(stdout) as { password: string }).password };
}

/**
 * The reference the issue asks for: Postfix authenticating clients itself
 * with `smtpd_sasl_type = dovecot` against a real Dovecot whose passdb is a
 * passwd-file with a `doveadm pw` ARGON2ID hash (Dovecot's auth cache off, as
 * it must be in front of device passwords). Null when either is missing.
 */
async function startDovecotSasl(password: string): Promise<{ dovecot: DovecotInstance; postfix: SaslPostfix; target: Target } | null> {
  if (!dovecotAvailable() || !postfixAvailable()) return null;
  const hash = (await runTool('/usr/bin/doveadm', ['pw', '-s', 'ARGON2ID', '-p', password])).stdout.trim();
  const dovecot = await startDovecot({ auth: { kind: 'passwd-file', lines: `${ADDRESS}:${hash}\n` } });
  const postfix = await startSaslPostfix(dovecot.authSocket);
  return { dovecot, postfix, target: { port: postfix.port, auth: { user: ADDRESS, pass: password } } };
}

async function main(): Promise<void> {
  if (PIN) pinSelf(PIN.others);
  const postfix: PostfixInstance = await startPostfix();
  let reference: Awaited<ReturnType<typeof startDovecotSasl>> = null;
  const dir = mkdtempSync(path.join(tmpdir(), 'dp-bench-smtp-'));
  let daemon: ChildProcess | null = null;
  try {
    const started = await startDevicepass(dir, postfix.port);
    daemon = started.child;
    const { port, password } = started;
    const viaDevicepass: Target = { port, auth: { user: ADDRESS, pass: password } };
    const direct: Target = { port: postfix.port, auth: null };
    reference = await startDovecotSasl('bench-dovecot-sasl-password');
    const sasl = { sessions: [] as number[], authSerial: [] as number[], rate: [] as number[] };
    // warm up: the first login pays argon2id and fills the proof cache; both paths see a few messages
    await serial(viaDevicepass).catch((err: unknown) => {
      throw new Error(`warm-up through devicepass failed: ${String(err)}\n${postfix.log().slice(-2000)}`);
    });
    await serial(direct);

    const r = { sessions: [] as number[], authP50: [] as number[], authP99: [] as number[], rate: [] as number[], p50: [] as number[], p99: [] as number[],
      directRate: [] as number[], directP50: [] as number[], directP99: [] as number[], serialVia: [] as number[], serialDirect: [] as number[],
      wholeVia: [] as number[], wholeDirect: [] as number[] };
    // a p99 needs many samples: the one-at-a-time AUTH steps of all runs are pooled
    const authSamples: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const s = await sessions(viaDevicepass);
      r.sessions.push(s.rate);
      r.authP50.push(percentile(s.auth, 50));
      r.authP99.push(percentile(s.auth, 99));
      const m = await messages(viaDevicepass);
      r.rate.push(m.rate);
      r.p50.push(percentile(m.times, 50));
      r.p99.push(percentile(m.times, 99));
      const d = await messages(direct);
      r.directRate.push(d.rate);
      r.directP50.push(percentile(d.times, 50));
      r.directP99.push(percentile(d.times, 99));
      // alternate the order so neither path always runs on a warmer Postfix
      let via: number[];
      let straight: number[];
      if (run % 2) {
        via = await serial(viaDevicepass);
        straight = await serial(direct);
      } else {
        straight = await serial(direct);
        via = await serial(viaDevicepass);
      }
      r.serialVia.push(percentile(via, 50));
      r.serialDirect.push(percentile(straight, 50));
      const whole = await wholeSessions(viaDevicepass, SERIAL);
      authSamples.push(...whole.auth);
      r.wholeVia.push(percentile(whole.sessions, 50));
      r.wholeDirect.push(percentile((await wholeSessions(direct, SERIAL)).sessions, 50));
      if (reference) {
        sasl.sessions.push((await sessions(reference.target, SASL_SESSIONS)).rate);
        sasl.authSerial.push(...(await wholeSessions(reference.target, SASL_SERIAL)).auth);
        sasl.rate.push((await messages(reference.target)).rate);
      }
      process.stderr.write(`run ${run}/${RUNS} done\n`);
    }
    const added = median(r.serialVia.map((v, i) => v - r.serialDirect[i]!));
    const lines = [
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; devicepassd in its own process; Postfix 3.7 on loopback, XCLIENT on; ${PIN ? `devicepassd pinned to CPU ${PIN.daemon}, load generator, Postfix and Dovecot to CPU ${PIN.others}` : 'all on the same cores'}`,
      `${RUNS} runs, medians; ${SESSIONS} sessions and ${MESSAGES} messages (${BODY.length} bytes) per run over ${CONCURRENCY} connections; ${SERIAL} one-at-a-time submissions per path`,
      '',
      '| measure | result | target |',
      '| --- | --- | --- |',
      `| sessions/s with AUTH (connect, EHLO, AUTH PLAIN hot, QUIT) | ${median(r.sessions).toFixed(0)} | — |`,
      `| AUTH step, warm cache, one session at a time (${authSamples.length} pooled): p50 / p99 | ${percentile(authSamples, 50).toFixed(2)} / ${percentile(authSamples, 99).toFixed(2)} ms | p99 < 5 ms |`,
      `| AUTH step, warm cache, ${CONCURRENCY} sessions at once: p50 / p99 | ${median(r.authP50).toFixed(2)} / ${median(r.authP99).toFixed(2)} ms | — |`,
      `| messages/s relayed through devicepass | ${median(r.rate).toFixed(0)} (p50 ${median(r.p50).toFixed(2)} ms, p99 ${median(r.p99).toFixed(2)} ms) | — |`,
      `| messages/s straight to Postfix | ${median(r.directRate).toFixed(0)} (p50 ${median(r.directP50).toFixed(2)} ms, p99 ${median(r.directP99).toFixed(2)} ms) | — |`,
      `| one submission, median: via devicepass / straight | ${median(r.serialVia).toFixed(2)} / ${median(r.serialDirect).toFixed(2)} ms | — |`,
      `| latency added by devicepass to the median submission | ${added.toFixed(2)} ms | < 5 ms |`,
      `| whole session (connect … QUIT, one message), median: via devicepass / straight | ${median(r.wholeVia).toFixed(2)} / ${median(r.wholeDirect).toFixed(2)} ms | — |`,
      ...(reference
        ? [
          '',
          'Postfix authenticating straight with Dovecot SASL (passwd-file, ARGON2ID from doveadm pw, auth cache off), same run:',
          '',
          '| measure | devicepass | Postfix + Dovecot SASL |',
          '| --- | --- | --- |',
          `| sessions/s with AUTH, ${CONCURRENCY} at once | ${median(r.sessions).toFixed(0)} | ${median(sasl.sessions).toFixed(1)} |`,
          `| AUTH step, one session at a time: p50 / p99 | ${percentile(authSamples, 50).toFixed(2)} / ${percentile(authSamples, 99).toFixed(2)} ms | ${percentile(sasl.authSerial, 50).toFixed(2)} / ${percentile(sasl.authSerial, 99).toFixed(2)} ms (${sasl.authSerial.length} pooled) |`,
          `| messages/s over ${CONCURRENCY} authenticated sessions (not comparable: this reference Postfix discards, the one behind devicepass delivers to a Maildir) | ${median(r.rate).toFixed(0)} | ${median(sasl.rate).toFixed(0)} |`,
        ]
        : ['', 'Postfix + Dovecot SASL reference skipped: Dovecot or Postfix is not installed.']),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await once(daemon, 'exit');
    }
    await postfix.stop();
    if (reference) {
      await reference.postfix.stop();
      await reference.dovecot.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
