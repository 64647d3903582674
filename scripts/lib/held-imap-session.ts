/**
 * A logged-in IMAP session left idle, for timing how soon a revocation
 * reaches it: `closed` resolves with performance.now() when the socket ends
 * (the server's FIN; devicepass sends its `* BYE` in the same write).
 */
import net from 'node:net';

const quote = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

export class HeldImapSession {
  readonly #socket: net.Socket;
  readonly closed: Promise<number>;

  private constructor(socket: net.Socket, closed: Promise<number>) {
    this.#socket = socket;
    this.closed = closed;
  }

  /** Connects, logs in with LOGIN and resolves once the tagged OK came back; rejects on anything else. */
  static open(port: number, user: string, password: string): Promise<HeldImapSession> {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let markClosed: (at: number) => void = () => undefined;
    const closed = new Promise<number>((resolve) => {
      markClosed = resolve;
    });
    return new Promise((resolve, reject) => {
      let buffer = '';
      let loggedIn = false;
      const ended = () => {
        markClosed(performance.now());
        if (!loggedIn) reject(new Error(`the session to ${user} closed before its login completed`));
      };
      socket.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('latin1');
        for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!loggedIn && line.startsWith('* OK')) socket.write(`l1 LOGIN ${quote(user)} ${quote(password)}\r\n`);
          else if (!loggedIn && line.startsWith('l1 ')) {
            if (!line.startsWith('l1 OK')) {
              socket.destroy();
              reject(new Error(`LOGIN for ${user} answered: ${line}`));
              return;
            }
            loggedIn = true;
            resolve(new HeldImapSession(socket, closed));
          }
        }
      });
      socket.on('end', ended);
      socket.on('close', ended);
      socket.on('error', (err) => {
        if (!loggedIn) reject(err);
      });
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }
}
