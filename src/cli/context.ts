import type { Command } from 'commander';
import { ConfigError, configFilePath, loadConfigFile } from '../config/load.js';
import { callDaemon, CliError } from './client.js';

/** What every command needs: the daemon call, the output mode, and a way to print. */
export interface CliContext {
  call(op: string, args?: Record<string, unknown>): Promise<unknown>;
  readonly json: boolean;
  out(text: string): void;
  /** Prints the result as JSON with --json, else the human rendering. */
  emit(result: unknown, human: () => string): void;
}

export function createContext(program: Command): CliContext {
  const options = () => program.opts<{ config?: string; socket?: string; json?: boolean }>();
  const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return {
    get json() {
      return options().json === true;
    },
    async call(op, args = {}) {
      return callDaemon(socketPath(options()), op, args);
    },
    out,
    emit(result, human) {
      out(options().json ? JSON.stringify(result, null, 2) : human());
    },
  };
}

function socketPath(options: { config?: string; socket?: string }): string {
  if (options.socket) return options.socket;
  try {
    return loadConfigFile(configFilePath(options.config)).control.socket;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}
