import net from 'node:net';
import { userInfo } from 'node:os';
import { exitCodeFor } from '../errors/catalogue.js';
import type { ControlResponse } from '../control/protocol.js';

/** A refusal or failure the CLI reports with its exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode: 1 | 2 | 3, readonly code?: string) {
    super(message);
  }
}

const TIMEOUT_MS = 120_000;

/** One request, one response, over the control socket. */
export async function callDaemon(socketPath: string, op: string, args: Record<string, unknown>): Promise<unknown> {
  const response = await new Promise<ControlResponse>((resolve, reject) => {
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    const unreachable = (err: NodeJS.ErrnoException) =>
      new CliError(`the devicepass daemon is not reachable at ${socketPath} (${err.code ?? err.message}): is devicepassd running?`, 3, 'DAEMON_UNREACHABLE');
    let connected = false;
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error('timed out waiting for the daemon')));
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify({ id: 1, op, args, actor: actor() })}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const nl = chunk.indexOf(10);
      if (nl === -1) return;
      socket.destroy();
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8').split('\n')[0]!) as ControlResponse);
      } catch {
        reject(new CliError('the daemon sent a malformed response', 1));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => reject(connected ? new CliError(`control socket: ${err.message}`, 3) : unreachable(err)));
    socket.on('close', () => reject(new CliError('the daemon closed the connection without answering', 3)));
  });
  if (response.ok) {
    // the request succeeded, with caveats: said on stderr, so --json output stays one object and the exit code 0
    for (const warning of response.warnings ?? []) process.stderr.write(`devicepass: warning: ${warning}\n`);
    return response.result;
  }
  throw new CliError(response.error.message, exitCodeFor(response.error.code), response.error.code);
}

function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}
