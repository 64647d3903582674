import { ConfigError, configFilePath, loadConfigFile } from './config/load.js';
import { startDaemon } from './daemon.js';
import { createLogger } from './log/logger.js';

/** `devicepassd [--config FILE]`: start, then stop cleanly on SIGINT/SIGTERM. */
export async function runDaemon(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write('usage: devicepassd [--config FILE]\n  FILE defaults to $DEVICEPASS_CONFIG, then config/default.toml\n');
    return;
  }
  const at = args.indexOf('--config');
  const explicit = at === -1 ? undefined : args[at + 1];
  if ((at !== -1 && !explicit) || args.some((a, i) => a.startsWith('-') && a !== '--config' && i !== at + 1)) {
    process.stderr.write('usage: devicepassd [--config FILE]\n');
    process.exitCode = 2;
    return;
  }
  let config;
  try {
    config = loadConfigFile(configFilePath(explicit));
  } catch (err) {
    process.stderr.write(`devicepassd: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const log = createLogger(config.log.level);
  let daemon;
  try {
    daemon = await startDaemon(config, log);
  } catch (err) {
    log.fatal({ err }, 'devicepassd could not start');
    process.stderr.write(`devicepassd: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    void daemon.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
