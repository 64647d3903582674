import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startDaemonProcess, tempDir, writeConfig, type DaemonProcess } from '../helpers/env.js';

interface Invitation { id: string; url: string; expires: string; state: string; device: string | null }

describe('devicepass invite against a running daemon', () => {
  let daemon: DaemonProcess;
  let cleanup: () => void;
  let config: string;
  const tokens: string[] = [];
  const run = (args: string[]) => cli(['--config', config, ...args]);
  const json = async (args: string[]) => {
    const result = await run(['--json', ...args]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as unknown;
  };

  beforeAll(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    config = writeConfig(tmp.dir, '');
    daemon = await startDaemonProcess(config, path.join(tmp.dir, 'control.sock'));
    await run(['address', 'add', 'alice@example.com']);
  });
  afterAll(async () => {
    await daemon?.stop();
    // the link is shown once, to the administrator, and never in the daemon's log
    for (const token of tokens) expect(daemon.logs()).not.toContain(token);
    cleanup();
  });

  it('creates, lists and revokes invitations', async () => {
    const made = (await json(['invite', 'create', 'alice@example.com', '--name', 'iPhone', '--days', '7'])) as Invitation;
    expect(made.url).toMatch(/^https:\/\/localhost:8443\/invite\/[A-Za-z0-9_-]{43}$/);
    tokens.push(made.url.split('/').pop()!);
    expect(Date.parse(made.expires) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

    const human = await run(['invite', 'create', 'alice@example.com']);
    expect(human.code).toBe(0);
    const link = /https:\/\/\S+/.exec(human.stdout)![0];
    tokens.push(link.split('/').pop()!);

    const list = (await json(['invite', 'list', 'alice@example.com'])) as Invitation[];
    expect(list.map((i) => [i.id, i.state])).toEqual([[made.id, 'open'], [expect.any(String), 'open']]);
    expect(JSON.stringify(list)).not.toContain(tokens[0]);
    expect((await run(['invite', 'list', 'alice@example.com'])).stdout).toMatch(/^ID\s+STATE/);

    expect((await run(['invite', 'revoke', 'alice@example.com', made.id])).stdout).toContain(`revoked invitation ${made.id}`);
    const again = await run(['invite', 'revoke', 'alice@example.com', made.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('revoked, not open');
    expect((await run(['invite', 'revoke', 'alice@example.com', '4711'])).code).toBe(1);
    expect((await run(['invite', 'create', 'nobody@example.com'])).code).toBe(1);
    expect((await run(['invite', 'create'])).code).toBe(2);
  });

  it('revoking every device voids the open invitations, and the audit log says who did what', async () => {
    const result = (await json(['device', 'revoke-all', 'alice@example.com', '--yes'])) as { invitationsRevoked: number };
    expect(result.invitationsRevoked).toBe(1);
    const list = (await json(['invite', 'list', 'alice@example.com'])) as Invitation[];
    expect(list.every((i) => i.state === 'revoked')).toBe(true);
    const log = (await json(['log', 'alice@example.com'])) as Array<{ type: string; actor: string }>;
    expect(log.filter((e) => e.type === 'invite.create')).toHaveLength(2);
    expect(log.filter((e) => e.type === 'invite.revoke')).toHaveLength(2);
    expect(log.find((e) => e.type === 'invite.create')!.actor).toMatch(/^cli:/);
  });
});
