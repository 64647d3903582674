/** A minimal POP3 client for the benchmark: one status line per command, nothing parsed beyond +OK / -ERR. */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';

export class Pop3Probe {
  readonly #socket: Socket;
  #buffer = '';
  #waiter: ((line: string | null) => void) | null = null;
  readonly #lines: string[] = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('latin1');
      for (let end = this.#buffer.indexOf('\r\n'); end >= 0; end = this.#buffer.indexOf('\r\n')) {
        this.#lines.push(this.#buffer.slice(0, end));
        this.#buffer = this.#buffer.slice(end + 2);
      }
      this.#wake();
    });
    socket.once('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  /** Connects and reads the greeting. */
  static async connect(port: number, secure: boolean): Promise<Pop3Probe> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = secure
        ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, servername: 'localhost' }, () => resolve(s))
        : net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const probe = new Pop3Probe(socket);
    const greeting = await probe.#next();
    if (!greeting.startsWith('+OK')) throw new Error(`greeting: ${greeting}`);
    return probe;
  }

  /** Sends a line and returns the status line answering it. */
  async command(line: string): Promise<string> {
    this.#socket.write(`${line}\r\n`);
    return this.#next();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #next(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      this.#waiter = (l) => (l === null ? reject(new Error('connection closed')) : resolve(l));
    });
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    const line = this.#lines.shift();
    if (line !== undefined) {
      this.#waiter = null;
      waiter(line);
    } else if (this.#closed) {
      this.#waiter = null;
      waiter(null);
    }
  }
}
