import type { Command } from 'commander';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from '../client.js';
import type { CliContext } from '../context.js';
import { describeReason, table, when } from '../format.js';
import { readSecret } from '../io.js';

interface EventEntry {
  at: string; lastAt: string; count: number; type: string; address: string | null; deviceId: string | null; deviceName: string | null;
  reason: string | null; protocol: string | null; ip: string | null; client: string | null; actor: string | null; detail: Record<string, unknown> | null;
}

interface SessionEntry { id: number; address: string; deviceId: number; deviceName: string; protocol: string; clientIp: string; clientName: string | null; since: string }

export function registerObserve(program: Command, ctx: CliContext): void {
  program.command('sessions [address]').description('live IMAP and SMTP sessions, by device')
    .action(async (address?: string) => {
      const list = (await ctx.call('sessions', { address })) as SessionEntry[];
      ctx.emit(list, () => list.length === 0 ? 'no live sessions'
        : table(['ADDRESS', 'DEVICE', 'PROTOCOL', 'CLIENT', 'SINCE'], list.map((s) => [
          s.address, `${s.deviceId} "${s.deviceName}"`, s.protocol, `${s.clientIp}${s.clientName ? ` "${s.clientName}"` : ''}`, when(s.since),
        ])));
    });

  program.command('log [address]').description('the audit log: administrative changes and every login result, with the exact reason')
    .option('--limit <n>', 'how many entries', '50')
    .action(async (address: string | undefined, opts: { limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit takes a whole number', 2);
      const list = (await ctx.call('log', { address, limit })) as EventEntry[];
      ctx.emit(list, () => list.length === 0 ? 'no events' : list.map(describeEvent).join('\n'));
    });

  program.command('auth').description('authentication checks')
    .command('test <address>').description('try a login with the password on standard input, on the same path as a real login')
    .option('--protocol <protocol>', 'imap, smtp or pop3', 'imap')
    .option('--ip <address>', 'the client IP to act as (default 127.0.0.1)')
    .action(async (address: string, opts: { protocol: string; ip?: string }) => {
      const password = await readSecret('Password: ');
      const result = (await ctx.call('auth.test', { address, password, protocol: opts.protocol, clientIp: opts.ip })) as {
        ok: boolean; address?: string; device: { id: string; name: string } | string | null; reason?: string; since?: string | null;
      };
      ctx.emit(result, () => result.ok && typeof result.device === 'object' && result.device
        ? `ok: ${result.address} as device ${result.device.id} "${result.device.name}"`
        : `failed: ${describeReason(result.reason ?? 'unknown', typeof result.device === 'string' ? result.device : null, result.since ?? null)}`);
      if (!result.ok) process.exitCode = 1;
    });

  program.command('backup <file>').description('write a consistent copy of the live database to FILE (written by the daemon: a path it may write)')
    .action(async (file: string) => {
      const result = (await ctx.call('backup', { file: path.resolve(file) })) as { file: string; bytes: number };
      ctx.emit(result, () => `backed up to ${result.file} (${result.bytes} bytes)`);
    });

  program.command('status').description('daemon health and counters')
    .option('--wait <seconds>', 'wait up to this long for the daemon to be up and serving (a service manager\'s readiness check)')
    .action(async (opts: { wait?: string }) => {
      const status = opts.wait === undefined ? ((await ctx.call('status')) as Record<string, unknown>) : await waitReady(ctx, opts.wait);
      ctx.emit(status, () => Object.entries(status).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n'));
    });
}

function describeEvent(e: EventEntry): string {
  const times = e.count > 1 ? ` ×${e.count} until ${when(e.lastAt)}` : '';
  const device = e.deviceName ? ` device ${e.deviceId ?? '-'} "${e.deviceName}"` : '';
  const where = [e.protocol, e.ip, e.client ? `"${e.client}"` : null].filter(Boolean).join(' ');
  switch (e.type) {
    case 'login.ok':
      return `${when(e.at)}  login ok      ${e.address}${device} ${where}${times}`;
    case 'login.fail': {
      const since = typeof e.detail?.since === 'string' ? e.detail.since : null;
      // an aggregate lists its client networks; older rows name one IP
      const networks = Array.isArray(e.detail?.networks) ? (e.detail.networks as string[]) : [];
      const from = networks.length > 0
        ? [e.protocol, `from ${networks.join(', ')}${e.detail?.moreNetworks === true ? ' and more' : ''}`, e.client ? `"${e.client}"` : null].filter(Boolean).join(' ')
        : where;
      return `${when(e.at)}  login failed  ${e.address ?? '(no valid address)'} ${from}: ${describeReason(e.reason ?? '', e.deviceName, since)}${times}`;
    }
    default:
      return `${when(e.at)}  ${e.type.padEnd(12)}  ${e.address ?? ''}${device}${e.actor ? ` by ${e.actor}` : ''}${e.detail ? ` ${JSON.stringify(e.detail)}` : ''}`;
  }
}

const READY_POLL_MS = 100;

/** Polls until the daemon answers with every surface listening; unreachable or not ready by the deadline is exit 3. */
async function waitReady(ctx: CliContext, seconds: string): Promise<Record<string, unknown>> {
  const limit = Number(seconds);
  if (!Number.isFinite(limit) || limit < 0) throw new CliError('--wait takes a number of seconds', 2);
  const deadline = Date.now() + limit * 1000;
  for (;;) {
    let last: unknown;
    try {
      const status = (await ctx.call('status')) as Record<string, unknown>;
      if (status.ready === true) return status;
      last = new CliError('the daemon is starting but not yet serving', 3);
    } catch (err) {
      if (!(err instanceof CliError) || err.exitCode !== 3) throw err;
      last = err;
    }
    if (Date.now() >= deadline) throw last;
    await sleep(READY_POLL_MS);
  }
}
