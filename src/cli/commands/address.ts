import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { table, when } from '../format.js';

interface AddressEntry { address: string; devices: number; generic: boolean; created: string }

export function registerAddress(program: Command, ctx: CliContext): void {
  const group = program.command('address').description('mailbox addresses');

  group.command('add <address>').description('add an address (it has no password until a device is added)')
    .action(async (address: string) => {
      const result = (await ctx.call('address.add', { address })) as { address: string };
      ctx.emit(result, () => `added ${result.address}`);
    });

  group.command('list').description('list addresses')
    .action(async () => {
      const list = (await ctx.call('address.list')) as AddressEntry[];
      ctx.emit(list, () => list.length === 0 ? 'no addresses'
        : table(['ADDRESS', 'DEVICES', 'GENERIC', 'CREATED'], list.map((a) => [a.address, String(a.devices), a.generic ? 'yes' : 'no', when(a.created)])));
    });

  group.command('remove <address>').description('remove an address and all its passwords')
    .option('--yes', 'confirm')
    .action(async (address: string, opts: { yes?: boolean }) => {
      const result = (await ctx.call('address.remove', { address, yes: opts.yes === true })) as { address: string; sessionsClosed: number };
      ctx.emit(result, () => `removed ${result.address}${result.sessionsClosed ? ` (${result.sessionsClosed} session(s) closed)` : ''}`);
    });
}
