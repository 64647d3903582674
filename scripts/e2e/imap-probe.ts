import net from 'node:net';
import tls from 'node:tls';

/** A bare IMAP client for benchmarks: connect, wait for the greeting, send tagged commands and wait for their status. */
export class ImapProbe {
  readonly #socket: net.Socket;
  #buffer = '';
  #tag = 0;
  #waiter: { tag: string; resolve: (status: string) => void; reject: (err: Error) => void } | null = null;
  #greeted: Promise<void>;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    let greet: () => void = () => undefined;
    let fail: (err: Error) => void = () => undefined;
    this.#greeted = new Promise((resolve, reject) => {
      greet = resolve;
      fail = reject;
    });
    socket.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('latin1');
      for (let end = this.#buffer.indexOf('\r\n'); end >= 0; end = this.#buffer.indexOf('\r\n')) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        if (line.startsWith('* OK')) greet();
        const waiter = this.#waiter;
        if (waiter && line.startsWith(`${waiter.tag} `)) {
          this.#waiter = null;
          waiter.resolve(line.split(' ')[1] ?? '');
        }
      }
    });
    const onEnd = (err?: Error) => {
      const e = err ?? new Error('connection closed');
      fail(e);
      this.#waiter?.reject(e);
      this.#waiter = null;
    };
    socket.on('error', onEnd);
    socket.on('close', () => onEnd());
  }

  static async connect(port: number, secure: boolean): Promise<ImapProbe> {
    // devicepass's self-signed certificate for localhost: the benchmark measures cost, not trust
    const socket = secure ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : net.connect(port, '127.0.0.1');
    const probe = new ImapProbe(socket);
    await probe.#greeted;
    return probe;
  }

  /** Sends one command and resolves with its status word (OK, NO, BAD). */
  command(text: string): Promise<string> {
    const tag = `b${++this.#tag}`;
    return new Promise((resolve, reject) => {
      this.#waiter = { tag, resolve, reject };
      this.#socket.write(`${tag} ${text}\r\n`);
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }
}
