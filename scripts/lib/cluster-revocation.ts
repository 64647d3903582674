/**
 * Parts 2 and 3 of the cluster benchmark: how long `device revoke`
 * (CredentialAdmin.revokeDevice on a node in this process) takes to return,
 * and how soon a session held through another node sees its end.
 */
import { seedAddress, type Core } from './cluster-nodes.js';
import { HeldImapSession } from './held-imap-session.js';

/** Revocations per series before any is timed: prepared statements, the JIT, the pool's connections. */
const WARM_UP = 20;
/** A session that has not seen its end this long after the revocation was issued counts as a failure of the benchmark. */
const CLOSE_TIMEOUT_MS = 5_000;
/** Sessions logged in through node B at once (each is an argon2id there). */
const LOGIN_CONCURRENCY = 8;

/** Milliseconds each timed revocation took to return. */
export async function revocationTimes(core: Core, address: string, count: number): Promise<number[]> {
  const { deviceIds } = await seedAddress(core, address, WARM_UP + count);
  const times: number[] = [];
  for (const [i, id] of deviceIds.entries()) {
    const start = performance.now();
    await core.admin.revokeDevice(address, id, 'bench');
    if (i >= WARM_UP) times.push(performance.now() - start);
  }
  return times;
}

export interface DisconnectTimes {
  /** From the revoke call issued on node A to the client of node B seeing the end. */
  fromIssue: number[];
  /** From the call returned on A to the end; negative when the session ended before the call returned. */
  fromReturn: number[];
  /** How long each revoke call took to return, sessions being cut. */
  call: number[];
}

/**
 * Adds `count` devices to `address` through node A (`core`), logs each in
 * once through node B's IMAP front and holds the sessions, then revokes the
 * devices one at a time through A.
 */
export async function disconnectTimes(core: Core, imapPort: number, address: string, count: number): Promise<DisconnectTimes> {
  await core.admin.addAddress(address, 'bench');
  const devices: Array<{ id: string; password: string }> = [];
  let next = 0;
  // argon2id for each new password: two at a time, as the hash queue would
  await Promise.all(Array.from({ length: 2 }, async () => {
    while (next++ < count) {
      const device = await core.admin.addDevice(address, { name: `session ${next}`, scopes: ['imap'] }, 'bench');
      devices.push({ id: device.id, password: device.password });
    }
  }));
  const sessions: HeldImapSession[] = new Array<HeldImapSession>(devices.length);
  let login = 0;
  try {
    await Promise.all(Array.from({ length: LOGIN_CONCURRENCY }, async () => {
      for (let i = login++; i < devices.length; i = login++) sessions[i] = await HeldImapSession.open(imapPort, address, devices[i]!.password);
    }));
    // every node has taken in the additions and B's sessions are relaying before the first cut
    await new Promise((r) => setTimeout(r, 500));
    const result: DisconnectTimes = { fromIssue: [], fromReturn: [], call: [] };
    for (const [i, device] of devices.entries()) {
      const session = sessions[i]!;
      const issued = performance.now();
      await core.admin.revokeDevice(address, device.id, 'bench');
      const returned = performance.now();
      const closed = await Promise.race([session.closed, new Promise<null>((r) => setTimeout(() => r(null), CLOSE_TIMEOUT_MS))]);
      if (closed === null) throw new Error(`session ${i + 1} still open ${CLOSE_TIMEOUT_MS} ms after its device was revoked on another node`);
      result.fromIssue.push(closed - issued);
      result.fromReturn.push(closed - returned);
      result.call.push(returned - issued);
    }
    return result;
  } finally {
    for (const session of sessions) session?.destroy();
  }
}
