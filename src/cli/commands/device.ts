import type { Command } from 'commander';
import type { DeviceView } from '../../credentials/admin.js';
import type { CliContext } from '../context.js';
import { table, when } from '../format.js';
import { readSecret } from '../io.js';

type WithPassword = DeviceView & { password: string; sessionsClosed?: number };

export function registerDevice(program: Command, ctx: CliContext): void {
  const group = program.command('device').description('per-device passwords of an address');

  group.command('add <address>').description('add a device and print its new password once')
    .requiredOption('--name <text>', 'what the password is for, e.g. "iPhone" or "Website contact form"')
    .option('--user <id>', 'who it was issued to')
    .option('--scopes <list>', 'protocols it may be used for: imap,smtp,pop3', 'imap,smtp')
    .option('--expires <when>', 'a duration (7d, 12h) or an ISO date')
    .option('--password-stdin', 'read a chosen password (16 characters minimum) from standard input')
    .action(async (address: string, opts: { name: string; user?: string; scopes: string; expires?: string; passwordStdin?: boolean }) => {
      const password = opts.passwordStdin ? await readSecret('New password: ') : undefined;
      const result = (await ctx.call('device.add', {
        address, name: opts.name, user: opts.user, scopes: opts.scopes, expires: opts.expires, password,
      })) as WithPassword;
      ctx.emit(result, () => showPassword(`Device ${result.id} "${result.name}" added for ${address}.`, result, address));
    });

  group.command('list <address>').description('list the devices of an address')
    .action(async (address: string) => {
      const list = (await ctx.call('device.list', { address })) as DeviceView[];
      ctx.emit(list, () => list.length === 0 ? `${address} has no devices`
        : table(['ID', 'NAME', 'STATE', 'SCOPES', 'USER', 'EXPIRES', 'LAST USED'], list.map((d) => [
          d.id, d.name, d.state, d.scopes.join(','), d.user ?? '-', when(d.expires),
          d.lastUsed ? `${when(d.lastUsed.at)} ${d.lastUsed.protocol} ${d.lastUsed.ip}${d.lastUsed.client ? ` "${d.lastUsed.client}"` : ''}` : 'never',
        ])));
    });

  group.command('rename <address> <device> <name>').description('rename a device')
    .action(async (address: string, device: string, name: string) => {
      const result = (await ctx.call('device.rename', { address, device, name })) as DeviceView;
      ctx.emit(result, () => `device ${result.id} is now "${result.name}"`);
    });

  group.command('reset <address> <device>').description('give a device a new password; the old one stops working and its sessions are cut')
    .option('--password-stdin', 'read a chosen password (16 characters minimum) from standard input')
    .action(async (address: string, device: string, opts: { passwordStdin?: boolean }) => {
      const password = opts.passwordStdin ? await readSecret('New password: ') : undefined;
      const result = (await ctx.call('device.reset', { address, device, password })) as WithPassword;
      ctx.emit(result, () => showPassword(
        `Device ${result.id} "${result.name}" has a new password; the old one no longer works${closed(result.sessionsClosed)}.`, result, address));
    });

  group.command('revoke <address> <device>').description('revoke a device: its password stops working and its sessions are cut')
    .action(async (address: string, device: string) => {
      const result = (await ctx.call('device.revoke', { address, device })) as DeviceView & { sessionsClosed: number };
      ctx.emit(result, () => `revoked device ${result.id} "${result.name}"${closed(result.sessionsClosed)}`);
    });

  group.command('revoke-all <address>').description('revoke every device of an address')
    .option('--yes', 'confirm')
    .option('--include-generic', 'also revoke the generic legacy password, for good')
    .action(async (address: string, opts: { yes?: boolean; includeGeneric?: boolean }) => {
      const result = (await ctx.call('device.revoke-all', { address, yes: opts.yes === true, includeGeneric: opts.includeGeneric === true })) as {
        revoked: number; sessionsClosed: number; invitationsRevoked?: number;
      };
      const invitations = result.invitationsRevoked ? `; ${result.invitationsRevoked} open invitation(s) revoked` : '';
      ctx.emit(result, () => `revoked ${result.revoked} device(s) of ${address}${closed(result.sessionsClosed)}${invitations}`);
    });
}

function showPassword(headline: string, result: WithPassword, address: string): string {
  return [
    headline,
    'Password (shown only this once: nothing can display it again; spaces are optional when typing it):',
    '',
    `    ${result.password}`,
    '',
    `Type it as the password of ${address} wherever the device asks: the incoming (IMAP/POP3) and the outgoing (SMTP)`,
    'server each have a password field, and Apple Mail asks for both separately: the same password goes in each.',
    '',
  ].join('\n');
}

function closed(count: number | undefined): string {
  return count ? `; ${count} session(s) closed` : '';
}
