import net from 'node:net';
import { formatLine, LineSplitter, parseLine, PROTOCOL_MAJOR } from './codec.js';

export interface SaslVerdict {
  ok: boolean;
  /** The user name the server confirmed (OK) or echoed (FAIL). */
  user: string | null;
  temporary: boolean;
  reason: string | null;
}

export interface PlainRequest {
  user: string;
  password: string;
  service: string;
  rip?: string;
  lip?: string;
  secured?: boolean;
}

/**
 * A small multiplexing client of the Dovecot auth protocol, PLAIN only:
 * what the checkpassword program and the benchmark speak, and what tests
 * drive the server with. Any number of requests may be in flight.
 */
export class SaslClient {
  readonly #socket: net.Socket;
  readonly #waiting = new Map<number, (v: SaslVerdict) => void>();
  readonly #ready: Promise<void>;
  #nextId = 1;
  #failure: Error | null = null;
  #outgoing = '';

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    const splitter = new LineSplitter();
    let resolveReady!: () => void;
    let rejectReady!: (e: Error) => void;
    this.#ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    // a rejection nobody awaited yet must not crash the process: connect() awaits it
    this.#ready.catch(() => undefined);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (err) {
        return this.#fail(err as Error);
      }
      for (const text of lines) {
        const { command, args } = parseLine(text);
        if (command === 'VERSION' && Number(args[0]) !== PROTOCOL_MAJOR) return this.#fail(new Error(`server speaks protocol ${args[0]}`));
        if (command === 'DONE') resolveReady();
        if (command === 'OK' || command === 'FAIL') this.#verdict(command, args);
        if (command === 'CONT') this.#fail(new Error('server asked for more than PLAIN needs'));
      }
    });
    const gone = (err?: Error) => {
      const error = err ?? new Error('auth server closed the connection');
      rejectReady(error);
      this.#fail(error);
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
  }

  /** Connects to a Unix socket path or "host:port" and waits for the server's DONE. */
  static async connect(address: string, timeoutMs = 5_000): Promise<SaslClient> {
    const hostPort = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
    const socket = hostPort && !address.includes('/') ? net.connect(Number(hostPort[2]), hostPort[1]) : net.connect(address);
    const client = new SaslClient(socket);
    socket.write(formatLine('VERSION', String(PROTOCOL_MAJOR), '2') + formatLine('CPID', String(process.pid)));
    const timer = setTimeout(() => socket.destroy(new Error('auth server handshake timed out')), timeoutMs);
    try {
      await client.#ready;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  plain(request: PlainRequest): Promise<SaslVerdict> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const resp = Buffer.from(`\0${request.user}\0${request.password}`, 'utf8').toString('base64');
    const params = [`service=${request.service}`];
    if (request.lip) params.push(`lip=${request.lip}`);
    if (request.rip) params.push(`rip=${request.rip}`);
    if (request.secured) params.push('secured');
    params.push('nologin', `resp=${resp}`);
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      // requests made in the same turn leave in one write; a write error fails them all through 'error'
      if (this.#outgoing === '') setImmediate(() => this.#flush());
      this.#outgoing += formatLine('AUTH', String(id), 'PLAIN', ...params);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #flush(): void {
    if (!this.#socket.destroyed && this.#outgoing !== '') this.#socket.write(this.#outgoing);
    this.#outgoing = '';
  }

  #verdict(command: string, args: string[]): void {
    const id = Number(args[0]);
    const resolve = this.#waiting.get(id);
    if (!resolve) return;
    this.#waiting.delete(id);
    const params = new Map(args.slice(1).map((a) => (a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, ''])));
    resolve({
      ok: command === 'OK',
      user: params.get('user') ?? null,
      temporary: params.get('code') === 'temp_fail' || params.has('temp'),
      reason: params.get('reason') ?? null,
    });
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    // pending requests learn of it through a temporary verdict: the server never answered
    for (const resolve of this.#waiting.values()) resolve({ ok: false, user: null, temporary: true, reason: err.message });
    this.#waiting.clear();
    this.#socket.destroy();
  }
}
