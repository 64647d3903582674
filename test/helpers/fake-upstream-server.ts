/**
 * What the stand-in IMAP and POP3 upstreams share: a loopback server on an
 * ephemeral port, the sessions it saw, and a stop that ends them all.
 */
import net, { type Socket } from 'node:net';

export interface FakeSession {
  socket: Socket;
  /** The address the master user logged in as; null before (or without) a login. */
  user: string | null;
}

export abstract class FakeUpstreamServer<S extends FakeSession> {
  readonly sessions: S[] = [];
  readonly #server = net.createServer((socket) => this.serve(socket));

  /** Answers one connection: records its session in `sessions` and speaks the protocol. */
  protected abstract serve(socket: Socket): void;

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Sessions logged in as `user`. */
  loggedIn(user: string): S[] {
    return this.sessions.filter((s) => s.user === user);
  }
}
