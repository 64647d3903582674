/**
 * A slow-client flood against the IMAP front: `--clients` connections from
 * loopback that never log in and send one byte every `--interval` ms for
 * `--seconds`. Measured for devicepassd with its default connection limits
 * and, in the same run, with the limits lifted (the reference: what the
 * front did before it had any): how many connections are greeted, refused
 * and still open at the end, and how much the daemon's RSS grew. Medians of
 * `--runs` runs. With `--literal N` each connection first announces an
 * N-byte literal (`a LOGIN {N}`) and then trickles its bytes. Usage:
 *   npm run build && node dist/scripts/bench-slow-clients.js [--clients 3000 --seconds 20 --interval 1000 --runs 3 --literal 0]
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { spawnDevicepassd } from './e2e/devicepassd.js';
import { freePort } from './e2e/host.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const CLIENTS = Number(args.get('clients') ?? 3000);
const SECONDS = Number(args.get('seconds') ?? 20);
const INTERVAL_MS = Number(args.get('interval') ?? 1000);
const RUNS = Number(args.get('runs') ?? 3);
const LITERAL = Number(args.get('literal') ?? 0);
/** Connections opened at once while the flood builds up: fast, without a SYN backlog overflow on loopback. */
const OPEN_BATCH = 100;

interface Outcome {
  greeted: number;
  refused: number;
  openAtEnd: number;
  rssGrowthMiB: number;
}

const LIFTED = (n: number) => `max_connections = ${n}\nmax_connections_per_network = ${n}\nmax_unauthenticated = ${n}\nmax_unauthenticated_per_network = ${n}\n`;

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN);
}

async function flood(limits: string): Promise<Outcome> {
  const dir = mkdtempSync('/tmp/dp-slow-');
  const port = await freePort();
  const dp = await spawnDevicepassd(
    dir,
    `[imap]\nlisten = ["127.0.0.1:${port}"]\nlisten_tls = []\n${limits}[smtp]\nlisten = []\nlisten_tls = []\n[dovecot_auth]\nlisten = []\n[http]\nlisten = []\n[pop3]\nlisten = []\nlisten_tls = []\n[web]\nlisten = []\n`,
  );
  const pid = dp.child.pid!;
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssKiB(pid);
  const sockets: net.Socket[] = [];
  let greeted = 0;
  let refused = 0;
  let open = 0;
  const connectOne = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let first = true;
      socket.on('error', () => undefined);
      socket.on('connect', () => {
        open++;
        resolve();
      });
      socket.on('data', (d: Buffer) => {
        if (!first) return;
        first = false;
        if (d.toString('latin1').startsWith('* OK')) greeted++;
        else if (d.toString('latin1').startsWith('* BYE')) refused++;
      });
      socket.on('close', () => {
        open--;
        resolve();
      });
      sockets.push(socket);
    });
  for (let i = 0; i < CLIENTS; i += OPEN_BATCH) await Promise.all(Array.from({ length: Math.min(OPEN_BATCH, CLIENTS - i) }, connectOne));
  if (LITERAL > 0) for (const s of sockets) if (!s.destroyed) s.write(`a LOGIN {${LITERAL}}\r\n`);
  const command = LITERAL > 0 ? 'x' : 'a LOGIN someone@example.com some-password\r\n';
  let sent = 0;
  const trickle = setInterval(() => {
    const byte = command[sent++ % command.length]!;
    for (const s of sockets) if (!s.destroyed) s.write(byte);
  }, INTERVAL_MS);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  clearInterval(trickle);
  const after = rssKiB(pid);
  const outcome = { greeted, refused, openAtEnd: open, rssGrowthMiB: (after - before) / 1024 };
  for (const s of sockets) s.destroy();
  await dp.stop();
  rmSync(dir, { recursive: true, force: true });
  return outcome;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const withDefaults: Outcome[] = [];
const lifted: Outcome[] = [];
for (let run = 0; run < RUNS; run++) {
  // the two configurations take turns, so a drifting host meets both
  withDefaults.push(await flood(''));
  lifted.push(await flood(LIFTED(CLIENTS * 2)));
  process.stderr.write(`run ${run + 1}: defaults ${JSON.stringify(withDefaults.at(-1))}, lifted ${JSON.stringify(lifted.at(-1))}\n`);
}
const row = (label: string, o: Outcome[]) =>
  `| ${label} | ${median(o.map((x) => x.greeted))} | ${median(o.map((x) => x.refused))} | ${median(o.map((x) => x.openAtEnd))} | ${median(o.map((x) => x.rssGrowthMiB)).toFixed(1)} MiB |`;
console.log(
  [
    `${CLIENTS} loopback connections, ${LITERAL > 0 ? `each announcing a ${LITERAL}-byte literal, then ` : ''}one byte each every ${INTERVAL_MS} ms for ${SECONDS} s, never logging in; medians of ${RUNS} runs`,
    `host: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    '',
    '| devicepassd | greeted | refused (BYE [UNAVAILABLE]) | still open at the end | daemon RSS growth |',
    '| --- | --- | --- | --- | --- |',
    row('default limits', withDefaults),
    row('limits lifted (reference)', lifted),
  ].join('\n'),
);
