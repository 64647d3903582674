import net from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tls from 'node:tls';
import { DataEncoder } from './data-encoder.js';
import { ReplyReader, isPositive, type SmtpReply } from './reply.js';
import { encodeXtext } from './xtext.js';
import { UpstreamError } from '../net/upstream-error.js';

export interface UpstreamOptions {
  host: string;
  port: number;
  tls: 'none' | 'starttls' | 'implicit';
  /** Our name in the first EHLO. */
  heloName: string;
  connectTimeoutMs?: number;
  /** How long one reply may take; the final reply to DATA gets dataTimeoutMs. */
  replyTimeoutMs?: number;
  dataTimeoutMs?: number;
}

/**
 * The upstream answered a command with a negative reply, to be passed on to
 * the client as it is. Every other failure (refused connection, timeout,
 * closed, garbage) is a plain UpstreamError with its reason.
 */
export class UpstreamRefusal extends UpstreamError {
  override name = 'UpstreamRefusal';
  readonly reply: SmtpReply;

  constructor(what: string, reply: SmtpReply) {
    super('refused', `upstream refused ${what} with ${reply.code}`);
    this.reply = reply;
  }
}

interface Waiter {
  resolve: (reply: SmtpReply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A minimal SMTP client for relaying one submission to the MTA: EHLO,
 * STARTTLS, XCLIENT (which nodemailer's SMTPConnection cannot send), then
 * MAIL/RCPT one command at a time so each reply reaches our client as it comes,
 * and a streamed DATA whose final "." is only written when the caller commits.
 */
export class UpstreamClient {
  readonly #o: Required<UpstreamOptions>;
  #socket: net.Socket;
  #reader = new ReplyReader();
  #early: SmtpReply[] = [];
  #waiters: Waiter[] = [];
  #failure: Error | null = null;
  #extensions = new Map<string, string>();

  private constructor(socket: net.Socket, options: Required<UpstreamOptions>) {
    this.#o = options;
    this.#socket = socket;
    this.#attach(socket);
  }

  /** Connects, reads the greeting, says EHLO (and upgrades with STARTTLS when configured). */
  static async connect(options: UpstreamOptions): Promise<UpstreamClient> {
    const o: Required<UpstreamOptions> = { connectTimeoutMs: 10_000, replyTimeoutMs: 60_000, dataTimeoutMs: 600_000, ...options };
    const socket = await openSocket(o);
    const client = new UpstreamClient(socket, o);
    try {
      await client.#expect(await client.#next(o.replyTimeoutMs), 'greeting');
      await client.ehlo(o.heloName);
      if (o.tls === 'starttls') {
        if (!client.supports('STARTTLS')) throw new UpstreamError('protocol', 'upstream does not offer STARTTLS');
        await client.#expect(await client.command('STARTTLS'), 'STARTTLS');
        await client.#startTls();
        await client.ehlo(o.heloName);
      }
      return client;
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  /** Connected, and nothing has failed. */
  get alive(): boolean {
    return this.#failure === null && !this.#socket.destroyed;
  }

  supports(keyword: string): boolean {
    return this.#extensions.has(keyword.toUpperCase());
  }

  /** The parameters the upstream listed after an EHLO keyword ("XCLIENT NAME ADDR …"). */
  extension(keyword: string): string | undefined {
    return this.#extensions.get(keyword.toUpperCase());
  }

  async ehlo(name: string): Promise<void> {
    const reply = await this.#expect(await this.command(`EHLO ${name}`), 'EHLO');
    this.#extensions = new Map(
      reply.lines.slice(1).map((line) => {
        const [keyword = '', ...params] = line.trim().split(/\s+/);
        return [keyword.toUpperCase(), params.join(' ')] as const;
      }),
    );
  }

  /**
   * XCLIENT (Postfix XCLIENT_README): the upstream then treats the session as
   * the given client's, LOGIN included, and greets again; EHLO follows. Only
   * attributes the upstream advertised are sent. A refusal is returned, not thrown.
   */
  async xclient(attributes: Readonly<Record<string, string>>, heloName: string): Promise<SmtpReply> {
    const offered = new Set((this.extension('XCLIENT') ?? '').toUpperCase().split(/\s+/));
    const parts = Object.entries(attributes)
      .filter(([key]) => offered.has(key))
      .map(([key, value]) => `${key}=${encodeXtext(value)}`);
    const reply = await this.command(`XCLIENT ${parts.join(' ')}`);
    if (!isPositive(reply)) return reply;
    await this.ehlo(heloName);
    return reply;
  }

  /** Sends one command line and waits for its reply. Values must already be safe (no CR/LF). */
  command(line: string, timeoutMs = this.#o.replyTimeoutMs): Promise<SmtpReply> {
    if (/[\r\n]/.test(line)) return Promise.reject(new UpstreamError('protocol', 'refusing to send a command with a line break'));
    const reply = this.#next(timeoutMs);
    this.#socket.write(`${line}\r\n`);
    return reply;
  }

  /**
   * After a 354: streams the message, then ends it with "." — unless `abort()`
   * says otherwise by then (or during), in which case the connection is dropped
   * so the upstream discards the partial message. Resolves with the final reply.
   */
  async message(source: Readable, abort: () => boolean): Promise<SmtpReply> {
    const encoder = new DataEncoder();
    // once dropped, nothing more goes upstream, but the client's DATA is still read to its end:
    // destroying smtp-server's stream mid-message would desynchronise its parser
    let dropped = false;
    await pipeline(source, encoder, async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        if (dropped) continue;
        if (abort() || this.#failure) {
          dropped = true;
          continue;
        }
        if (!this.#socket.write(chunk)) dropped = !(await this.#drained());
      }
    });
    if (dropped || abort() || this.#failure) {
      const reason = this.#failure ?? new UpstreamError('protocol', 'message aborted before it was committed');
      this.destroy();
      throw reason;
    }
    if (!encoder.endsWithLineBreak) this.#socket.write('\r\n');
    return this.command('.', this.#o.dataTimeoutMs);
  }

  /** Polite end: QUIT without waiting for the answer. */
  quit(): void {
    if (this.#failure || this.#socket.destroyed) return;
    this.#socket.end('QUIT\r\n');
    this.#socket.setTimeout(2_000, () => this.destroy());
  }

  destroy(): void {
    this.#fail(new UpstreamError('unreachable', 'upstream connection closed'));
    this.#socket.destroy();
  }

  #attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let replies: SmtpReply[];
      try {
        replies = this.#reader.push(chunk.toString('utf8'));
      } catch (err) {
        this.#fail(new UpstreamError('protocol', `upstream protocol error: ${(err as Error).message}`));
        socket.destroy();
        return;
      }
      for (const reply of replies) {
        const waiter = this.#waiters.shift();
        if (waiter) {
          clearTimeout(waiter.timer);
          waiter.resolve(reply);
        } else this.#early.push(reply);
      }
    });
    socket.on('error', (err) => this.#fail(new UpstreamError('unreachable', `upstream connection failed: ${err.message}`)));
    socket.on('close', () => this.#fail(new UpstreamError('unreachable', 'upstream closed the connection')));
  }

  #next(timeoutMs: number): Promise<SmtpReply> {
    const early = this.#early.shift();
    if (early) return Promise.resolve(early);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new UpstreamError('timeout', 'upstream did not answer in time'));
        this.#socket.destroy();
      }, timeoutMs);
      this.#waiters.push({ resolve, reject, timer });
    });
  }

  async #expect(reply: SmtpReply, what: string): Promise<SmtpReply> {
    if (isPositive(reply)) return reply;
    throw new UpstreamRefusal(what, reply);
  }

  /** Resolves true once the socket drained, false if it failed or closed first. */
  #drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve(this.#failure === null && !this.#socket.destroyed);
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  async #startTls(): Promise<void> {
    const raw = this.#socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    // errors of the raw socket surface on the TLS socket wrapping it
    raw.on('error', () => undefined);
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect({ socket: raw, ...tlsClientOptions(this.#o.host) }, () => {
        socket.off('error', onError);
        resolve(socket);
      });
      const onError = (err: Error) => {
        socket.destroy();
        reject(new UpstreamError('tls', `upstream TLS failed: ${err.message}`));
      };
      socket.once('error', onError);
    });
    this.#socket = secure;
    this.#attach(secure);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(this.#failure);
    }
  }
}

/**
 * The upstream is normally the MTA on the same host or network, often with a
 * self-signed ("snakeoil") certificate: on loopback TLS only encrypts; any
 * other host must present a certificate Node trusts (NODE_EXTRA_CA_CERTS for a
 * private CA).
 */
function tlsClientOptions(host: string): tls.ConnectionOptions {
  const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
  return { servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !loopback, minVersion: 'TLSv1.2' };
}

function openSocket(o: Required<UpstreamOptions>): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = o.tls === 'implicit' ? tls.connect({ host: o.host, port: o.port, ...tlsClientOptions(o.host) }) : net.connect({ host: o.host, port: o.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UpstreamError('timeout', 'upstream connection timed out'));
    }, o.connectTimeoutMs);
    socket.once(o.tls === 'implicit' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new UpstreamError('unreachable', `upstream connection failed: ${err.message}`));
    });
  });
}
