import { stringify as toToml } from 'smol-toml';
import { checkConfig, printableConfig, type ConfigCheck } from './config/check.js';
import { ConfigError, configFilePath, loadConfigFile, type Config } from './config/load.js';
import { startDaemon } from './daemon.js';
import { createLogger } from './log/logger.js';

const USAGE = `usage: devicepassd [--config FILE] [--check-config]
  FILE defaults to $DEVICEPASS_CONFIG, then config/default.toml
  --check-config  validate FILE, print the effective configuration (secrets masked), start nothing
exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error
`;

/** Exit codes: 2 says "fix the configuration (or the command line)", 1 "something failed while running". */
const EXIT_RUNTIME = 1;
const EXIT_CONFIG = 2;

interface Options {
  config: string | undefined;
  checkOnly: boolean;
}

function parseArgs(args: string[]): Options | 'help' | null {
  const options: Options = { config: undefined, checkOnly: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--check-config') options.checkOnly = true;
    else if (arg === '--config' && i + 1 < args.length && options.config === undefined) options.config = args[++i];
    else if (arg.startsWith('--config=') && options.config === undefined) options.config = arg.slice('--config='.length);
    else return null;
  }
  return options;
}

function describe(check: ConfigCheck, kind: 'errors' | 'warnings'): string {
  return check[kind].map((f) => `  ${f.key}: ${f.message}\n`).join('');
}

/** `devicepassd [--config FILE] [--check-config]`: validate, start, then stop cleanly on SIGINT/SIGTERM. */
export async function runDaemon(argv: string[]): Promise<void> {
  const options = parseArgs(argv.slice(2));
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (options === null || options.config === '') {
    process.stderr.write(USAGE);
    process.exitCode = EXIT_CONFIG;
    return;
  }
  const file = configFilePath(options.config);
  let config: Config;
  try {
    config = loadConfigFile(file);
  } catch (err) {
    process.stderr.write(`devicepassd: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exitCode = EXIT_CONFIG;
    return;
  }
  const check = checkConfig(config);
  if (check.errors.length > 0) {
    process.stderr.write(`devicepassd: invalid configuration in ${file}:\n${describe(check, 'errors')}`);
    if (check.warnings.length > 0) process.stderr.write(`warnings:\n${describe(check, 'warnings')}`);
    process.exitCode = EXIT_CONFIG;
    return;
  }
  if (options.checkOnly) {
    process.stdout.write(`# ${file}: valid\n`);
    for (const warning of check.warnings) process.stdout.write(`# warning: ${warning.key}: ${warning.message}\n`);
    process.stdout.write(toToml(printableConfig(config)) + '\n');
    return;
  }

  const log = createLogger(config.log.level);
  // a promise nobody awaited that failed means state nobody knows: say so and end, so the service manager restarts a clean process
  process.on('unhandledRejection', (reason) => {
    log.fatal({ err: reason }, 'unhandled promise rejection: exiting');
    process.exit(EXIT_RUNTIME);
  });
  for (const warning of check.warnings) log.warn({ key: warning.key }, `configuration: ${warning.message}`);
  let daemon;
  try {
    daemon = await startDaemon(config, log);
  } catch (err) {
    log.fatal({ err }, 'devicepassd could not start');
    process.stderr.write(`devicepassd: ${(err as Error).message}\n`);
    process.exitCode = EXIT_RUNTIME;
    return;
  }
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    void daemon.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
