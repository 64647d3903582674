import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';

/**
 * Gives a listening Unix socket its configured access: `mode`, and the
 * group named by `group` when set. `setting` names the configuration key in
 * the error for an unknown group.
 */
export function setSocketAccess(file: string, mode: number, group: string, setting: string): void {
  if (group) chownSync(file, -1, groupId(group, setting));
  chmodSync(file, mode);
}

/** A group name (or number) to its gid, through the system's group database. */
export function groupId(name: string, setting: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  try {
    const gid = Number(execFileSync('getent', ['group', name], { encoding: 'utf8' }).split(':')[2]);
    if (Number.isInteger(gid)) return gid;
  } catch {
    // getent exits 2 for an unknown group: reported below
  }
  throw new Error(`${setting}: no such group "${name}"`);
}

/**
 * Makes way for a new listener on `file`: a socket file left by a process
 * that died (nothing answers on it) is removed; one a running process still
 * listens on is left alone and refused, so a second daemon never steals the
 * socket of the first.
 */
export async function removeStaleSocket(file: string): Promise<void> {
  if (!existsSync(file)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(file);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another process is already listening on ${file}`);
  unlinkSync(file);
}
