import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';

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
