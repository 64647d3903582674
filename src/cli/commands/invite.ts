import type { Command } from 'commander';
import type { InvitationView } from '../../invitations/service.js';
import type { CliContext } from '../context.js';
import { table, when } from '../format.js';

export function registerInvite(program: Command, ctx: CliContext): void {
  const group = program.command('invite').description('one-time links with which a user creates a device password themselves');

  group.command('create <address>').description('make an invitation link for one new device and print it')
    .option('--name <text>', 'the device name the setup page suggests')
    .option('--user <id>', 'who it is issued to')
    .option('--scopes <list>', 'protocols the device may use: imap,smtp,pop3', 'imap,smtp')
    .option('--expires <when>', "the device's expiry: a duration from the day it is set up (7d) or an ISO date")
    .option('--days <n>', 'how many days the link stays valid', '30')
    .action(async (address: string, opts: { name?: string; user?: string; scopes: string; expires?: string; days: string }) => {
      const result = (await ctx.call('invite.create', {
        address, name: opts.name, user: opts.user, scopes: opts.scopes, expires: opts.expires, days: opts.days,
      })) as InvitationView & { url: string };
      ctx.emit(result, () => [
        `Invitation ${result.id} for ${address}, valid for one device until ${when(result.expires)}:`,
        '',
        `    ${result.url}`,
        '',
        'Send this link to the owner of the address: whoever opens it can create a device password,',
        'so pass it on as you would a password. It is shown only this once.',
      ].join('\n'));
    });

  group.command('list <address>').description('list the invitations of an address')
    .action(async (address: string) => {
      const list = (await ctx.call('invite.list', { address })) as InvitationView[];
      ctx.emit(list, () => list.length === 0 ? `${address} has no invitations`
        : table(['ID', 'STATE', 'NAME', 'SCOPES', 'CREATED', 'EXPIRES', 'USED', 'DEVICE'], list.map((i) => [
          i.id, i.state, i.name ?? '-', i.scopes.join(','), `${when(i.created)}${i.createdBy ? ` by ${i.createdBy}` : ''}`, when(i.expires),
          i.used ? `${when(i.used)} from ${i.usedFrom ?? '?'}` : '-', i.device ?? '-',
        ])));
    });

  group.command('revoke <address> <invite>').description('revoke an open invitation: its link stops working')
    .action(async (address: string, invite: string) => {
      const result = (await ctx.call('invite.revoke', { address, invite })) as InvitationView;
      ctx.emit(result, () => `revoked invitation ${result.id} of ${address}`);
    });
}
