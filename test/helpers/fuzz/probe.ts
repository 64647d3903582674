/**
 * A byte-level client for fuzzing a listening front: writes whatever it is
 * given and keeps everything the server sent, and waits with a bound for
 * the server to say something or to close. A wait that runs out is a hang.
 */
import net, { type Socket } from 'node:net';

/** A loopback TCP port (optionally from another loopback address) or a Unix socket path. */
export type Endpoint = { port: number; localAddress?: string } | { path: string };

export class HangError extends Error {
  override name = 'HangError';
}

export class Probe {
  readonly #socket: Socket;
  #received: Buffer[] = [];
  #receivedBytes = 0;
  #closed = false;
  #waiters = new Set<() => void>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received.push(chunk);
      this.#receivedBytes += chunk.length;
      this.#wake();
    });
    // the server may close while bytes are still on their way: a reset is a close like any other
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  static connect(endpoint: Endpoint): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const socket = 'path' in endpoint
        ? net.connect(endpoint.path)
        : net.connect({ port: endpoint.port, host: '127.0.0.1', ...(endpoint.localAddress ? { localAddress: endpoint.localAddress } : {}) });
      socket.once('connect', () => resolve(new Probe(socket)));
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Everything received so far, as latin1 text (one char per byte). */
  text(): string {
    if (this.#received.length > 1) this.#received = [Buffer.concat(this.#received)];
    return (this.#received[0] ?? Buffer.alloc(0)).toString('latin1');
  }

  get receivedBytes(): number {
    return this.#receivedBytes;
  }

  send(data: Buffer | string): void {
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(data);
  }

  /** Half-closes: the server reads an end of input but may still answer. */
  end(): void {
    if (!this.#socket.destroyed) this.#socket.end();
  }

  /** Sends the chunks one write each: the server sees them as separate reads when it is fast enough. */
  sendAll(chunks: readonly Buffer[]): void {
    for (const c of chunks) this.send(c);
  }

  /**
   * Resolves with 'matched' once `done(text)` holds, 'closed' once the server
   * closed without it; throws HangError after `timeoutMs` of neither.
   */
  until(done: (text: string) => boolean, timeoutMs: number): Promise<'matched' | 'closed'> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (done(this.text())) return finish(null, 'matched');
        if (this.#closed) return finish(null, 'closed');
        return false;
      };
      const finish = (err: Error | null, result?: 'matched' | 'closed'): true => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        if (err) reject(err);
        else resolve(result!);
        return true;
      };
      const waiter = () => void check();
      const timer = setTimeout(() => {
        const tail = this.text().slice(-600);
        finish(new HangError(`no answer and no close within ${timeoutMs} ms; last bytes received: ${JSON.stringify(tail)}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
      check();
    });
  }

  /** Waits for the server to close (it said goodbye); throws HangError when it does not within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<void> {
    if ((await this.until(() => false, timeoutMs)) !== 'closed') throw new HangError('not closed');
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}
