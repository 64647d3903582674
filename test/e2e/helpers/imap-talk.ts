import type { Socket } from 'node:net';

/** A bare IMAP client over an already logged-in socket: sends tagged commands and collects lines up to the tagged answer. */
export class ImapTalk {
  readonly #socket: Socket;
  #buffer = '';
  #waiter: (() => void) | null = null;
  #closed = false;
  /** Everything received, in order. */
  received = '';

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      this.#buffer += text;
      this.received += text;
      this.#waiter?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#waiter?.();
    });
  }

  /** Sends `tag command` and resolves with every line up to and including the tagged one. */
  async command(tag: string, command: string, timeoutMs = 5_000): Promise<string[]> {
    this.#socket.write(`${tag} ${command}\r\n`);
    return this.until(tag, timeoutMs);
  }

  /** Waits for the first line starting with `tag `, and returns all lines up to it. */
  async until(tag: string, timeoutMs = 5_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.#buffer.split('\r\n');
      const at = lines.findIndex((l) => l.startsWith(`${tag} `));
      if (at >= 0) {
        this.#buffer = lines.slice(at + 1).join('\r\n');
        return lines.slice(0, at + 1);
      }
      if (this.#closed) throw new Error(`connection closed before "${tag}"; got: ${this.#buffer}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${tag}" answer within ${timeoutMs} ms; got: ${this.#buffer}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = null;
    }
  }
}
