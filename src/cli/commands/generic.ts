import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError } from '../client.js';
import type { CliContext } from '../context.js';

export function registerGeneric(program: Command, ctx: CliContext): void {
  program.command('generic').description('the imported legacy password of an address')
    .command('import <address> <hash>').description("import a legacy hash: '{SHA512-CRYPT}$6$…', '{BLF-CRYPT}$2y$…', a bare crypt string, …")
    .action(async (address: string, hash: string) => {
      const result = (await ctx.call('generic.import', { address, hash })) as { address: string; scheme: string; outcome: string };
      ctx.emit(result, () => `${result.outcome} the generic ${result.scheme} password of ${result.address}`);
    });

  program.command('import').description('bulk imports')
    .command('passwd-file <file>').description('import Dovecot passwd-file lines user:{SCHEME}hash:… as generic passwords (all or nothing)')
    .action(async (file: string) => {
      let content: string;
      try {
        content = await readFile(file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1);
      }
      const result = (await ctx.call('import.passwd-file', { content })) as { imported: number; replaced: number; unchanged: number; revoked: string[] };
      ctx.emit(result, () => [
        `imported ${result.imported}, replaced ${result.replaced}, unchanged ${result.unchanged}`,
        ...result.revoked.map((a) => `skipped ${a}: its generic password was revoked for good`),
      ].join('\n'));
    });
}
