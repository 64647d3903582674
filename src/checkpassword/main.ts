import { spawn } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { ConfigError, configFilePath, loadConfigFile, listenAddresses } from '../config/load.js';
import { SaslClient } from '../dovecot-auth/client.js';
import { InputError, parseInput, readInput } from './fd3.js';
import { formatListen } from '../net/address.js';

/** qmail's checkpassword exit codes, as Dovecot reads them. */
export const EXIT = { ok: 0, failed: 1, misuse: 2, temporary: 111 } as const;

const ANSWER_TIMEOUT_MS = 30_000;

interface Options {
  socket?: string;
  config?: string;
  program: string[];
}

/** `[--socket PATH] [--config FILE] [--] [program args…]`: options stop at the first other word, which starts the program. */
export function parseArgs(argv: readonly string[]): Options {
  const options: Options = { program: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name !== '--socket' && name !== '--config') break;
    const value = inline ?? argv[++i];
    if (value === undefined) throw new InputError(`${name} needs a value`);
    if (name === '--socket') options.socket = value;
    else options.config = value;
  }
  options.program = argv.slice(i);
  return options;
}

/** --socket, $DEVICEPASS_AUTH_SOCKET, else the first `[dovecot_auth] listen` of the daemon's config. */
export function authAddress(options: Options, env: NodeJS.ProcessEnv): string {
  if (options.socket) return options.socket;
  if (env.DEVICEPASS_AUTH_SOCKET) return env.DEVICEPASS_AUTH_SOCKET;
  const config = loadConfigFile(configFilePath(options.config));
  const [first] = listenAddresses(config.dovecot_auth.listen);
  if (!first) throw new ConfigError('[dovecot_auth] listen is empty: nothing to ask');
  return formatListen(first);
}

/** Dovecot's SERVICE names the protocol; qmail-style callers set none, which means IMAP/POP3 users, so imap. */
function service(env: NodeJS.ProcessEnv): string {
  return (env.SERVICE ?? 'imap').toLowerCase();
}

function say(message: string): void {
  process.stderr.write(`devicepass-checkpassword: ${message}\n`);
}

/**
 * The checkpassword program: credentials on fd 3, asked of the running
 * daemon over its Dovecot SASL socket (so the proof cache, throttling and
 * revocation apply exactly as for any other login), then the given program
 * is run with USER set. Returns the exit code.
 */
export async function runCheckpassword(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let options: Options;
  let credentials: { user: string; password: string };
  let address: string;
  try {
    options = parseArgs(argv);
    credentials = parseInput(readInput());
    address = authAddress(options, env);
  } catch (err) {
    if (err instanceof InputError) {
      say(err.message);
      return EXIT.misuse;
    }
    say(`configuration: ${(err as Error).message}`);
    return EXIT.temporary;
  }
  if (credentials.password === '') {
    // Dovecot's AUTHORIZED=1 lookups ask "does this user exist" without a password: devicepass vouches only for passwords
    say('no password given: devicepass cannot vouch for a user without one');
    return EXIT.failed;
  }

  let client: SaslClient | null = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    client = await SaslClient.connect(address);
    const verdict = await Promise.race([
      client.plain({ user: credentials.user, password: credentials.password, service: service(env), rip: env.TCPREMOTEIP, lip: env.TCPLOCALIP }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer from devicepassd')), ANSWER_TIMEOUT_MS))),
    ]);
    if (!verdict.ok) return verdict.temporary ? EXIT.temporary : EXIT.failed;
    return await runProgram(options.program, { ...env, USER: verdict.user ?? credentials.user, ...(env.AUTHORIZED === '1' ? { AUTHORIZED: '2' } : {}) });
  } catch (err) {
    say(`devicepassd unreachable at ${address}: ${(err as Error).message}`);
    return EXIT.temporary;
  } finally {
    clearTimeout(timer);
    client?.close();
  }
}

/** Runs the next program with fds 0–4 passed on (Dovecot's checkpassword-reply answers on fd 4); its exit code is ours. */
function runProgram(program: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...args] = program;
  if (command === undefined) return Promise.resolve(EXIT.ok);
  const stdio = [0, 1, 2, 3, 4].map((fd) => (isOpen(fd) ? fd : 'ignore')) as Array<number | 'ignore'>;
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio, env });
    child.on('error', (err) => {
      say(`cannot run ${command}: ${err.message}`);
      resolve(EXIT.temporary);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? EXIT.temporary : EXIT.ok)));
  });
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
