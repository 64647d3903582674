import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

/**
 * A raw SMTP client for transcripts: writes exactly the lines a real client
 * writes and reads whole replies ("250-…" lines up to the "250 " one).
 */
export class SmtpTalk {
  #socket: net.Socket;
  #buffer = '';
  #replies: string[] = [];
  #waiting: Array<(reply: string) => void> = [];
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  closedAt = 0;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.closed = this.#watch(socket);
  }

  static async connect(port: number, options: { tls?: boolean } = {}): Promise<SmtpTalk> {
    const socket = options.tls ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : net.connect(port, '127.0.0.1');
    await once(socket, options.tls ? 'secureConnect' : 'connect');
    return new SmtpTalk(socket);
  }

  /** The next reply, every line of it, joined by "\n". */
  read(timeoutMs = 5_000): Promise<string> {
    const ready = this.#replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms (buffer: ${JSON.stringify(this.#buffer)})`)), timeoutMs);
      this.#waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }

  write(data: string | Buffer): void {
    this.#socket.write(data);
  }

  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  async starttls(): Promise<void> {
    const reply = await this.cmd('STARTTLS');
    if (!reply.startsWith('220')) throw new Error(`STARTTLS refused: ${reply}`);
    this.#socket.removeAllListeners('data');
    const secure = tls.connect({ socket: this.#socket, rejectUnauthorized: false });
    await once(secure, 'secureConnect');
    this.#socket = secure;
    this.closed = this.#watch(secure);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #watch(socket: net.Socket): Promise<void> {
    socket.on('data', (chunk: Buffer) => this.#data(chunk.toString('utf8')));
    socket.on('error', () => undefined);
    return new Promise((resolve) => {
      const done = () => {
        this.closedAt ||= performance.now();
        resolve();
      };
      socket.once('close', done);
      socket.once('end', done);
    });
  }

  #data(text: string): void {
    this.#buffer += text;
    let lines: string[] = [];
    let newline: number;
    while ((newline = this.#buffer.indexOf('\r\n')) !== -1) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 2);
      lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) {
        const reply = lines.join('\n');
        lines = [];
        const waiter = this.#waiting.shift();
        if (waiter) waiter(reply);
        else this.#replies.push(reply);
      }
    }
    if (lines.length > 0) this.#buffer = lines.map((l) => `${l}\r\n`).join('') + this.#buffer;
  }
}

export const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export interface ReceivedMessage {
  from: string;
  to: string[];
  data: string;
  login: string | null;
  addr: string | null;
  helo: string | null;
}

/**
 * The MTA devicepass relays to, in-process: an smtp-server that accepts
 * XCLIENT from loopback, records what it received and can be told to refuse.
 */
export class FakeMta {
  readonly received: ReceivedMessage[] = [];
  /** Recipients refused at RCPT with 550 5.1.1. */
  readonly refuseRecipients = new Set<string>();
  /** Set to refuse the next messages at the end of DATA with this code and text. */
  refuseData: { code: number; message: string } | null = null;
  /** Milliseconds the verdict on a message is held after its last byte (a slow queue). */
  holdDataMs = 0;
  /** Connections accepted so far. */
  connections = 0;
  readonly #server: SMTPServer;

  constructor() {
    this.#server = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      useXClient: ['127.0.0.1'],
      hideENHANCEDSTATUSCODES: false,
      disableReverseLookup: true,
      onAuth: (auth, _session, done) => (auth.method === 'XCLIENT' ? done(null, { user: auth.username }) : done(new Error('no'))),
      onRcptTo: (address, _session, done) => {
        if (this.refuseRecipients.has(address.address.toLowerCase())) {
          return done(Object.assign(new Error(`<${address.address}>: Recipient address rejected: User unknown`), { responseCode: 550 }));
        }
        done();
      },
      onData: (stream: SMTPServerDataStream, session, done) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => setTimeout(() => {
          if (this.refuseData) return done(Object.assign(new Error(this.refuseData.message), { responseCode: this.refuseData.code }));
          const xclient = session.xClient;
          this.received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks).toString('utf8'),
            login: typeof xclient.get('LOGIN') === 'string' ? (xclient.get('LOGIN') as string) : null,
            addr: typeof xclient.get('ADDR') === 'string' ? (xclient.get('ADDR') as string) : null,
            helo: session.hostNameAppearsAs || null,
          });
          done(null, `Ok: queued as FAKE${this.received.length}`);
        }, this.holdDataMs));
      },
    });
    this.#server.on('error', () => undefined);
    this.#server.on('connect', () => this.connections++);
  }

  /** Closes every open connection, as an MTA does after its idle timeout. */
  dropConnections(): void {
    for (const connection of this.#server.connections) connection.close();
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve()));
    return (this.#server.server.address() as net.AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      for (const connection of this.#server.connections) connection.close();
      this.#server.close(() => resolve());
    });
  }
}

/** A loopback port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
