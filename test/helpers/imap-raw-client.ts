/**
 * A byte-level IMAP client for transcripts: writes exactly what a test says
 * and reads the server's lines, so tests can assert the wire itself.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';

export interface RawConnectOptions {
  tls?: boolean;
  /** Bytes written before anything else (a PROXY header). */
  preamble?: Buffer | string;
  /** The loopback address to connect from (a trusted proxy's, e.g. 127.0.0.2). */
  localAddress?: string;
}

export class RawImap {
  #socket: Socket;
  #buffer = '';
  readonly lines: string[] = [];
  #cursor = 0;
  #closed = false;
  #wake: (() => void) | null = null;
  #closedPromise: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#closedPromise = this.#listen(socket);
  }

  static async connect(port: number, options: RawConnectOptions = {}): Promise<RawImap> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, () => resolve(s));
      s.once('error', reject);
    });
    if (options.preamble !== undefined) socket.write(options.preamble);
    if (!options.tls) return new RawImap(socket);
    const secure = await startTls(socket);
    return new RawImap(secure);
  }

  /** Resolves when the server (or the test) closed the current connection. */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  send(data: string | Buffer): void {
    if (!this.#socket.destroyed) this.#socket.write(data);
  }

  /** Sends `tag text` and returns every line up to and including the tagged answer. */
  async command(tag: string, text: string, timeoutMs = 3000): Promise<string[]> {
    const start = this.#cursor;
    this.send(`${tag} ${text}\r\n`);
    await this.next((l) => l.startsWith(`${tag} `), timeoutMs);
    return this.lines.slice(start, this.#cursor);
  }

  /** The next unread line matching, skipping the ones before it; rejects on close or timeout. */
  async next(match: RegExp | ((line: string) => boolean), timeoutMs = 3000): Promise<string> {
    const test = typeof match === 'function' ? match : (l: string) => match.test(l);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.lines.length) {
        const line = this.lines[this.#cursor++]!;
        if (test(line)) return line;
      }
      if (this.#closed) throw new Error(`closed before a matching line; got:\n${this.lines.join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; got:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** STARTTLS was accepted: continue over TLS on the same connection. */
  async upgrade(): Promise<void> {
    const raw = this.#socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    this.#socket = await startTls(raw);
    this.#closedPromise = this.#listen(this.#socket);
  }

  /** Resolves once the server closed the connection (or rejects after the timeout). */
  async waitClosed(timeoutMs = 3000): Promise<void> {
    await Promise.race([
      this.closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`still open; got:\n${this.lines.join('\n')}`)), timeoutMs)),
    ]);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #listen(socket: Socket): Promise<void> {
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('latin1');
      let lf: number;
      while ((lf = this.#buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.#buffer.slice(0, lf).replace(/\r$/, ''));
        this.#buffer = this.#buffer.slice(lf + 1);
      }
      this.#wake?.();
    });
    return new Promise((resolve) =>
      socket.once('close', () => {
        this.#closed = true;
        this.#wake?.();
        resolve();
      }),
    );
  }
}

function startTls(socket: Socket): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket, rejectUnauthorized: false, servername: 'localhost' }, () => resolve(secure));
    secure.once('error', reject);
  });
}
