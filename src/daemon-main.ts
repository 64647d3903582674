import { stringify as toToml } from 'smol-toml';
import { checkConfig, printableConfig, type ConfigCheck } from './config/check.js';
import { ConfigError, configFilePath, loadConfigFile, type Config } from './config/load.js';
import { startDaemon, type Daemon } from './daemon.js';
import { createLogger, type Logger } from './log/logger.js';

const USAGE = `usage: devicepassd [--config FILE] [--check-config]
  FILE defaults to $DEVICEPASS_CONFIG, then config/default.toml
  --check-config  validate FILE, print the effective configuration (secrets masked), start nothing
exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error
`;

/** Exit codes: 2 says "fix the configuration (or the command line)", 1 "something failed while running". */
const EXIT_RUNTIME = 1;
const EXIT_CONFIG = 2;
/** After the shutdown grace, what closing sockets and the last writes may take before the process gives up on them. */
const FORCED_EXIT_MARGIN_MS = 5_000;

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
  // the handlers go in before anything starts: a signal during start must not take the default action
  // (SIGHUP's is to end the process); it is acted on once the daemon is up
  let daemon: Daemon | null = null;
  let stopSignal: string | null = null;
  let reloadWanted = false;
  const stop = (signal: string) => {
    if (stopSignal !== null && daemon !== null) {
      log.warn({ signal }, 'second stop signal: exiting now');
      process.exit(EXIT_RUNTIME);
    }
    stopSignal = signal;
    if (daemon) drainAndExit(daemon, signal, log);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    if (daemon && stopSignal === null) void reload(daemon, file, log);
    else reloadWanted = true;
  });
  try {
    daemon = await startDaemon(config, log);
  } catch (err) {
    log.fatal({ err }, 'devicepassd could not start');
    process.stderr.write(`devicepassd: ${(err as Error).message}\n`);
    process.exitCode = EXIT_RUNTIME;
    return;
  }
  if (stopSignal !== null) drainAndExit(daemon, stopSignal, log);
  else if (reloadWanted) void reload(daemon, file, log);
}

/** SIGTERM: the daemon drains for [daemon] shutdown_grace, then the process exits 0; a bound past that exits anyway. */
function drainAndExit(daemon: Daemon, signal: string, log: Logger): void {
  const grace = daemon.config.daemon.shutdown_grace;
  log.info({ signal, graceMs: grace }, 'stopping: no new connections, letting work in flight finish');
  // the grace bounds the drain; this bounds everything after it (closing sockets, the last writes)
  setTimeout(() => {
    log.error('stop did not finish in time: exiting now');
    process.exit(EXIT_RUNTIME);
  }, grace + FORCED_EXIT_MARGIN_MS).unref();
  daemon.stop(grace).then(
    () => process.exit(0),
    (err: unknown) => {
      log.fatal({ err }, 'stop failed');
      process.exit(EXIT_RUNTIME);
    },
  );
}

/** SIGHUP: the same file read and checked again; anything wrong with it leaves the running configuration as it is. */
async function reload(daemon: Daemon, file: string, log: Logger): Promise<void> {
  let next: Config;
  try {
    next = loadConfigFile(file);
  } catch (err) {
    daemon.reloadRefused();
    log.error({ file, problem: err instanceof ConfigError ? err.message : String(err) }, 'reload refused: the configuration does not load; the running one stays');
    return;
  }
  const check = checkConfig(next);
  if (check.errors.length > 0) {
    daemon.reloadRefused();
    log.error({ file, problems: check.errors }, 'reload refused: the configuration has errors; the running one stays');
    return;
  }
  for (const warning of check.warnings) log.warn({ key: warning.key }, `configuration: ${warning.message}`);
  try {
    await daemon.reload(next);
  } catch (err) {
    log.error({ file, err }, 'reload refused: the running configuration stays');
  }
}
