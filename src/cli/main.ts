import { Command, CommanderError } from 'commander';
import { VERSION } from '../paths.js';
import { CliError } from './client.js';
import { registerAddress } from './commands/address.js';
import { registerCompletion } from './commands/completion.js';
import { registerDevice } from './commands/device.js';
import { registerGeneric } from './commands/generic.js';
import { registerInvite } from './commands/invite.js';
import { registerObserve } from './commands/observe.js';
import { createContext } from './context.js';

/** What to do next, for the refusals where the next step is not obvious from the message. */
const HINTS: Readonly<Record<string, string>> = {
  DAEMON_UNREACHABLE: 'start it with `systemctl start devicepassd` (or `devicepassd --config FILE`), or name its socket with --config/--socket',
  ADDRESS_UNKNOWN: 'see `devicepass address list`, or add it with `devicepass address add ADDRESS`',
  DEVICE_UNKNOWN: 'see `devicepass device list ADDRESS` for the device ids',
  DEVICE_REVOKED: 'a revoked device stays revoked: add a new one with `devicepass device add ADDRESS --name TEXT`',
  GENERIC_NOT_RESETTABLE: 'give the client its own password: `devicepass device add ADDRESS --name TEXT`',
  CONFIRMATION_REQUIRED: 'repeat the command with --yes',
  INVITE_UNKNOWN: 'see `devicepass invite list ADDRESS` for the invitation ids',
};

/**
 * The `devicepass` CLI. Exit codes: 0 success, 1 refused (or login failed
 * for `auth test`), 2 usage error, 3 daemon unreachable.
 */
export async function runCli(argv: string[]): Promise<number> {
  const program = new Command('devicepass')
    .description('administer per-device mail passwords through the devicepass daemon')
    .version(VERSION)
    .option('--config <file>', 'configuration file (default: $DEVICEPASS_CONFIG, then config/default.toml)')
    .option('--socket <path>', 'control socket (default: from the configuration)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride();
  const ctx = createContext(program);
  registerAddress(program, ctx);
  registerDevice(program, ctx);
  registerGeneric(program, ctx);
  registerInvite(program, ctx);
  registerObserve(program, ctx);
  registerCompletion(program, ctx);
  for (const command of program.commands) command.exitOverride();

  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are not errors; everything else commander rejects is a usage error
      return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? 0 : 2;
    }
    if (err instanceof CliError) {
      if (ctx.json) process.stdout.write(`${JSON.stringify({ error: { code: err.code ?? 'ERROR', message: err.message } })}\n`);
      const hint = err.code ? HINTS[err.code] : undefined;
      process.stderr.write(`devicepass: ${err.message}\n${hint ? `  ${hint}\n` : ''}`);
      return err.exitCode;
    }
    process.stderr.write(`devicepass: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
