/**
 * Legitimate logins while a guessing attack runs. devicepassd as its own
 * process, default argon2id parameters, its Dovecot SASL service (the client
 * network is `rip=`, as an MTA passes it):
 *   1. quiet: hot logins of USERS proven devices (each from a network of its
 *      own), closed loop, HOT_INFLIGHT in flight, for SECONDS;
 *   2. attack: the same hot load while a bounded flood of fresh wrong
 *      passwords (FLOOD attempts at most, FLOOD_INFLIGHT in flight) comes from
 *      NETWORKS networks, at known and unknown addresses alike; meanwhile one
 *      legitimate cold login (a device never proven, the owner's own network)
 *      must succeed.
 * Targets: hot p99 < 50 ms and ≥ 80 % of the quiet throughput under attack;
 * the cold login succeeds. Usage:
 *   npm run build && node dist/scripts/bench-attack.js [--seconds 10 --flood 20000 --networks 256]
 */
import { rmSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { buildConfig } from '../src/config/load.js';
import { createCore } from '../src/daemon.js';
import { SaslClient, type PlainRequest } from '../src/dovecot-auth/client.js';
import { silentLogger } from '../src/log/logger.js';
import { frontSections, spawnDevicepassd } from './e2e/devicepassd.js';
import { instanceDir } from './e2e/sasl-dovecot.js';
import { quantile, sortedCopy } from './lib/stats.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const SECONDS = Number(args.get('seconds') ?? 10);
const FLOOD = Number(args.get('flood') ?? 20_000);
const NETWORKS = Number(args.get('networks') ?? 256);
const USERS = 32;
const HOT_INFLIGHT = 32;
const FLOOD_INFLIGHT = 256;
const CONNECTIONS = 2;

interface HotResult { requests: number; seconds: number; p50: number; p99: number; refused: number }

/** Hot logins in a closed loop until `stop()` says so. */
async function hotLoad(socket: string, users: PlainRequest[], stop: () => boolean): Promise<HotResult> {
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => SaslClient.connect(socket)));
  const latencies: number[] = [];
  let refused = 0;
  let issued = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: HOT_INFLIGHT }, async (_, w) => {
    while (!stop()) {
      const user = users[issued++ % users.length]!;
      const t0 = performance.now();
      const verdict = await clients[w % CONNECTIONS]!.plain(user);
      latencies.push(performance.now() - t0);
      if (!verdict.ok) refused++;
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  for (const c of clients) c.close();
  const sorted = sortedCopy(latencies);
  return { requests: latencies.length, seconds, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), refused };
}

async function main(): Promise<void> {
  const dir = instanceDir('ba');
  const users: PlainRequest[] = [];
  const known: string[] = [];
  let cold: PlainRequest;
  {
    const core = createCore(buildConfig({ data_dir: dir, log: { level: 'silent' } }), silentLogger);
    for (let i = 0; i < USERS; i++) {
      const user = `user${i}@attack.test`;
      await core.admin.addAddress(user, 'bench');
      const { password } = await core.admin.addDevice(user, { name: 'phone' }, 'bench');
      users.push({ user, password, service: 'smtp', rip: `192.0.2.${i + 1}` });
      known.push(user);
    }
    const { password } = await core.admin.addDevice('user0@attack.test', { name: 'new laptop' }, 'bench');
    cold = { user: 'user0@attack.test', password, service: 'smtp', rip: '192.0.2.1' };
    core.recorder.flush();
    core.store.close();
  }
  const daemon = await spawnDevicepassd(dir, `${frontSections()}
[dovecot_auth]
listen = ["auth.sock"]
mode = "0600"
`);
  const socket = path.join(dir, 'auth.sock');
  try {
    // every hot user proven once, then a second of warm-up
    await hotLoad(socket, users, (() => { let n = 0; return () => n++ >= USERS; })());
    const warm = performance.now() + 1000;
    await hotLoad(socket, users, () => performance.now() > warm);

    const quietEnd = performance.now() + SECONDS * 1000;
    const quiet = await hotLoad(socket, users, () => performance.now() > quietEnd);

    // the flood: fresh wrong passwords, half at known addresses, half at unknown ones
    const flooders = await Promise.all(Array.from({ length: CONNECTIONS }, () => SaslClient.connect(socket)));
    let attempts = 0;
    let flooding = true;
    const answers = new Map<string, number>();
    const flood = Promise.all(Array.from({ length: FLOOD_INFLIGHT }, async (_, w) => {
      while (flooding && attempts < FLOOD) {
        const n = attempts++;
        const user = n % 2 ? known[n % known.length]! : `nobody${n % 1000}@attack.test`;
        const net = n % NETWORKS;
        const verdict = await flooders[w % CONNECTIONS]!.plain({ user, password: `guess ${n}`, service: 'smtp', rip: `10.66.${net >> 8}.${net & 255}` });
        const kind = verdict.ok ? 'ok (!)' : verdict.temporary ? 'temporary' : 'failed';
        answers.set(kind, (answers.get(kind) ?? 0) + 1);
      }
    }));
    await new Promise((r) => setTimeout(r, 1000)); // the flood is under way
    const attackEnd = performance.now() + SECONDS * 1000;
    const coldLogin = (async () => {
      await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 2));
      const client = await SaslClient.connect(socket);
      const t0 = performance.now();
      const verdict = await client.plain(cold);
      client.close();
      return { ok: verdict.ok, temporary: !verdict.ok && verdict.temporary, ms: performance.now() - t0 };
    })();
    const attacked = await hotLoad(socket, users, () => performance.now() > attackEnd);
    const coldResult = await coldLogin;
    flooding = false;
    await flood;
    for (const c of flooders) c.close();

    const rate = (r: HotResult) => r.requests / r.seconds;
    console.log(`${availableParallelism()} × ${cpus()[0]?.model ?? 'CPU'}, node ${process.version}; default argon2id parameters; ${USERS} hot users, ${HOT_INFLIGHT} in flight; flood ≤ ${FLOOD} attempts from ${NETWORKS} networks, ${FLOOD_INFLIGHT} in flight; ${SECONDS} s each`);
    console.log('');
    console.log('| phase | hot logins/s | p50 ms | p99 ms | hot refused |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(`| quiet | ${rate(quiet).toFixed(0)} | ${quiet.p50.toFixed(2)} | ${quiet.p99.toFixed(2)} | ${quiet.refused} |`);
    console.log(`| under attack | ${rate(attacked).toFixed(0)} (${((rate(attacked) / rate(quiet)) * 100).toFixed(0)} % of quiet) | ${attacked.p50.toFixed(2)} | ${attacked.p99.toFixed(2)} | ${attacked.refused} |`);
    console.log('');
    console.log(`flood answers: ${[...answers].map(([k, v]) => `${k} ${v}`).join(', ')} (${attempts} sent)`);
    console.log(`legitimate cold login during the attack: ${coldResult.ok ? 'succeeded' : coldResult.temporary ? 'temporary failure' : 'FAILED'} in ${coldResult.ms.toFixed(0)} ms`);
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
