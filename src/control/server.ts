import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import path from 'node:path';
import { DevicepassError, ERRORS } from '../errors/catalogue.js';
import { collectWarnings } from '../errors/warnings.js';
import type { Logger } from '../log/logger.js';
import { removeStaleSocket, setSocketAccess } from '../net/unix-socket.js';
import { isBusy, retryWhileBusy } from '../store/busy.js';
import { OPERATIONS, type ControlContext } from './operations.js';
import type { ControlRequest, ControlResponse } from './protocol.js';

export interface ControlServerOptions {
  socketPath: string;
  /** Empty: 0600. A group name: 0660, group-owned. */
  group: string;
  maxRequestBytes: number;
}

/**
 * The local administration socket. Each connection's requests are answered
 * in order; a malformed request gets an error response and the connection
 * stays usable; an oversized one gets an error and the connection is closed
 * (its remaining bytes cannot be trusted to start a new request).
 */
export class ControlServer {
  readonly #ctx: ControlContext;
  readonly #options: ControlServerOptions;
  readonly #log: Logger;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  constructor(ctx: ControlContext, options: ControlServerOptions, log: Logger) {
    this.#ctx = ctx;
    this.#options = options;
    this.#log = log.child({ surface: 'control' });
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  async listen(): Promise<void> {
    const file = this.#options.socketPath;
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    await removeStaleSocket(file);
    // the socket is born owner-only: no window in which another user could connect
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.#server.once('error', reject);
        this.#server.listen(file, () => {
          this.#server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previous);
    }
    if (this.#options.group) {
      setSocketAccess(file, 0o660, this.#options.group, 'control.group');
    }
    this.#log.info({ socket: file, mode: this.#options.group ? '0660' : '0600' }, 'control socket listening');
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', (err) => this.#log.debug({ err }, 'control connection error'));
    // decoded chunk by chunk as it arrives: a request of many MiB (a passwd-file) is never decoded in one go on the event loop
    let decoder = new StringDecoder('utf8');
    let buffered = '';
    let size = 0;
    let queue: Promise<void> = Promise.resolve();

    socket.on('data', (chunk: Buffer) => {
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(10, start);
        const end = nl === -1 ? chunk.length : nl;
        size += end - start;
        if (size > this.#options.maxRequestBytes) {
          this.#refuseOversized(socket, () => queue);
          return;
        }
        buffered += decoder.write(chunk.subarray(start, end));
        if (nl === -1) return;
        const line = buffered + decoder.end();
        decoder = new StringDecoder('utf8');
        buffered = '';
        size = 0;
        start = nl + 1;
        if (line.trim() !== '') queue = queue.then(() => this.#answer(socket, line));
      }
    });
  }

  /** What follows an oversized request cannot be trusted to start a new one: answer, then hang up. */
  #refuseOversized(socket: net.Socket, pending: () => Promise<void>): void {
    socket.removeAllListeners('data');
    socket.pause();
    void pending().then(() => {
      this.#write(socket, { id: null, ok: false, error: { code: 'REQUEST_TOO_LARGE', message: `a request may be at most ${this.#options.maxRequestBytes} bytes` } });
      socket.end();
    });
  }

  async #answer(socket: net.Socket, line: string): Promise<void> {
    let request: ControlRequest;
    try {
      request = parseRequest(line);
    } catch (err) {
      this.#write(socket, { id: null, ok: false, error: { code: 'REQUEST_INVALID', message: (err as Error).message } });
      return;
    }
    const id = request.id ?? null;
    const actor = actorOf(request);
    const operation = OPERATIONS.get(request.op);
    if (!operation) {
      this.#write(socket, { id, ok: false, error: { code: 'OPERATION_UNKNOWN', message: `unknown operation: ${request.op.slice(0, 60)}` } });
      return;
    }
    try {
      // a write lock held by another connection (an import, another process) is waited for here, asynchronously
      const { value: result, warnings } = await collectWarnings(() => retryWhileBusy(() => operation(this.#ctx, request.args ?? {}, actor)));
      // arguments are never logged: they may carry a password
      this.#log.info({ op: request.op, actor, ...(warnings.length > 0 ? { warnings } : {}) }, 'control request');
      this.#write(socket, { id, ok: true, result, ...(warnings.length > 0 ? { warnings } : {}) });
    } catch (err) {
      if (err instanceof DevicepassError) {
        this.#log.info({ op: request.op, actor, code: err.code }, 'control request refused');
        this.#write(socket, { id, ok: false, error: { code: err.code, message: err.message, ...(err.details ? { details: { ...err.details } } : {}) } });
      } else if (storeRefusal(err)) {
        const code = storeRefusal(err)!;
        this.#log.error({ op: request.op, actor, code }, 'control request failed: the store refused the write');
        this.#write(socket, { id, ok: false, error: { code, message: ERRORS[code].message } });
      } else {
        this.#log.error({ err, op: request.op, actor }, 'control request failed');
        this.#write(socket, { id, ok: false, error: { code: 'INTERNAL', message: 'internal error; see the daemon log' } });
      }
    }
  }

  #write(socket: net.Socket, response: ControlResponse): void {
    if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
  }
}

/** A write the store could not make, said loudly and plainly: a full disk, or a write lock held too long by another process. */
function storeRefusal(err: unknown): 'DISK_FULL' | 'STORE_BUSY' | null {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' ? 'DISK_FULL' : isBusy(err) ? 'STORE_BUSY' : null;
}

function parseRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error('request is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('request must be a JSON object');
  const request = value as Record<string, unknown>;
  if (typeof request.op !== 'string' || request.op === '') throw new Error('request needs an "op" string');
  if (request.args !== undefined && (typeof request.args !== 'object' || request.args === null || Array.isArray(request.args))) {
    throw new Error('"args" must be an object');
  }
  const id = request.id;
  if (id !== undefined && id !== null && typeof id !== 'number' && typeof id !== 'string') throw new Error('"id" must be a number or string');
  return {
    op: request.op,
    args: request.args as Record<string, unknown> | undefined,
    id: id ?? null,
    actor: typeof request.actor === 'string' ? request.actor : undefined,
  };
}

/** Who asked, as the client says (the socket's mode already decides who may ask at all). */
function actorOf(request: ControlRequest): string {
  const claimed = request.actor;
  return claimed !== undefined && /^[\w.@:+-]{1,64}$/.test(claimed) ? claimed : 'control';
}
