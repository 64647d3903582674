/**
 * What an IMAP or POP3 client connection does before login, whatever the
 * protocol: refuses a PROXY header from a peer that may not send one, runs
 * one command at a time (the socket paused meanwhile, except for the SASL
 * answers a command asks for), keeps the idle and login deadlines and the
 * bad-command and failed-login limits, upgrades to TLS on STARTTLS/STLS with
 * nothing read in plaintext surviving it, and after a login hands the socket
 * to its ProxiedSession. The protocol's connection frames the input, runs
 * its commands and composes every line.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import type { FrontContext } from '../front-context.js';
import { destroyLater } from './destroy-later.js';
import type { FrontLoginInput, LoginOutcome } from './front-login.js';
import type { LineFrontConnectionOptions } from './line-front-surface.js';
import type { ProxiedSession } from './proxied-session.js';
import { looksLikeProxyHeader } from './proxy-protocol.js';

/** The per-connection limits of a front's config section ([imap], [pop3]); read at each use, so a reload reaches them. */
export interface LineFrontLimits {
  readonly idle_timeout: number;
  readonly login_timeout: number;
  readonly max_auth_failures: number;
  readonly max_bad_commands: number;
}

/** The protocol's traits the shared code needs. */
export interface LineProtocol {
  /** The log's surface field and the config section: "imap", "pop3". */
  readonly surface: 'imap' | 'pop3';
  /** For log lines: "IMAP", "POP3". */
  readonly name: string;
  readonly limits: (ctx: FrontContext) => LineFrontLimits;
  /** The lines (CRLF included) a connection is closed with, before login. */
  readonly goodbyes: {
    readonly idle: Buffer;
    readonly loginTimeout: Buffer;
    readonly shutdown: Buffer;
    readonly tooManyFailures: Buffer;
    readonly tooManyBad: Buffer;
  };
}

/** What a command's answer asks of the connection once it is written. */
export interface AnswerEffects {
  /** Counts against max_bad_commands. */
  readonly bad?: boolean | undefined;
  /** Counts against max_auth_failures. */
  readonly failedLogin?: boolean | undefined;
  readonly after?: 'close' | 'starttls' | 'proxy' | undefined;
}

/** What every protocol's command handlers see of the transport, read live. */
export interface TransportView {
  /** TLS is active (implicit or after STARTTLS/STLS). */
  readonly secure: boolean;
  /** A plaintext listener that has not upgraded yet. */
  readonly startTlsAvailable: boolean;
  /** TLS, or a client in trusted networks: plaintext credentials are acceptable. */
  readonly credentialsAllowed: boolean;
}

type Phase = 'ready' | 'proxying' | 'closed';

/** `Item`: what the protocol's framer yields (a line, a parsed command…). */
export abstract class LineFrontConnection<Item> {
  readonly id = randomBytes(6).toString('hex');
  protected readonly options: LineFrontConnectionOptions;
  protected readonly protocol: LineProtocol;
  /** A client in [auth] trusted_networks: plaintext credentials are acceptable without TLS. */
  protected readonly trusted: boolean;
  #socket: Socket;
  #secure: boolean;
  #phase: Phase = 'ready';
  readonly #logBindings: { readonly surface: 'imap' | 'pop3'; readonly conn: string; readonly clientIp: string };
  #logger: Logger | null = null;
  #running = false;
  #waiter: ((item: Item | null) => void) | null = null;
  #badCommands = 0;
  #failedLogins = 0;
  #firstChunk = true;
  /** Between STARTTLS's answer and the TLS wrap: the plaintext socket must stay unread. */
  #upgrading = false;
  #session: ProxiedSession | null = null;
  /** Refreshed by each complete item, not each byte: a client trickling a byte at a time is idle. */
  readonly #idle: NodeJS.Timeout;
  /** From accept to login: nothing the client sends extends it. */
  readonly #loginDeadline: NodeJS.Timeout;

  constructor(options: LineFrontConnectionOptions, protocol: LineProtocol) {
    this.options = options;
    this.protocol = protocol;
    this.#socket = options.socket;
    this.#secure = options.implicitTls;
    this.trusted = options.ctx.trustedNetworks.has(options.endpoint.clientIp);
    this.#logBindings = { surface: protocol.surface, conn: this.id, clientIp: options.endpoint.clientIp };
    const { idle_timeout, login_timeout } = protocol.limits(options.ctx);
    this.#idle = setTimeout(() => this.#onIdle(), idle_timeout).unref();
    this.#loginDeadline = setTimeout(() => this.#onLoginDeadline(), login_timeout).unref();
  }

  // --- what the protocol supplies --------------------------------------------

  /** The first line, sent once the socket is set up. */
  protected abstract greeting(): Buffer;
  /** Takes bytes from the client into the framer. */
  protected abstract push(chunk: Buffer): void;
  /** The next whole item, or null when more bytes are needed (or the connection was closed for its input). */
  protected abstract nextItem(): Item | null;
  /** Handles an item nobody waits for: usually starts a command with run(). */
  protected abstract onItem(item: Item): void;
  /** Bytes framed and not yet read. */
  protected abstract bufferedInput(): number;
  /** Everything received and not read: what the client pipelined behind its login belongs to the upstream. */
  protected abstract takePending(): Buffer;
  /** After the TLS upgrade: a fresh framer, and whatever was learnt in plaintext forgotten. */
  protected abstract resetForTls(): void;
  /** Tells the front this connection is gone. */
  protected abstract closed(): void;

  // --- what the protocol may use ---------------------------------------------

  /** Made on first use: most connections write no line of their own before the login's, which has its own child. */
  protected get log(): Logger {
    return (this.#logger ??= this.options.ctx.log.child(this.#logBindings));
  }

  /** TLS is active (implicit or after STARTTLS). */
  protected get secure(): boolean {
    return this.#secure;
  }

  /** A plaintext listener that has not upgraded yet. */
  protected get startTlsAvailable(): boolean {
    return !this.options.implicitTls && !this.#secure;
  }

  /** TLS, or a trusted client: plaintext credentials are acceptable. */
  protected get credentialsAllowed(): boolean {
    return this.#secure || this.trusted;
  }

  /**
   * The protocol's command context: `own` on top of the TransportView, whose
   * getters (on the prototype) always give the current state, after STARTTLS too.
   */
  protected commandContext<C extends TransportView>(own: Omit<C, keyof TransportView>): C {
    const self = this;
    const view: TransportView = {
      get secure() { return self.secure; },
      get startTlsAvailable() { return self.startTlsAvailable; },
      get credentialsAllowed() { return self.credentialsAllowed; },
    };
    // descriptors, not Object.assign: a getter in `own` (POP3's pendingUser) must stay a getter
    return Object.defineProperties(Object.create(view) as TransportView, Object.getOwnPropertyDescriptors(own)) as C;
  }

  /** Before login, and not closed: commands are still ours to answer. */
  protected get ready(): boolean {
    return this.#phase === 'ready';
  }

  start(): void {
    this.#attach(this.#socket);
    this.#socket.setNoDelay(true);
    this.write(this.greeting());
  }

  /** Server shutdown. */
  close(): void {
    if (this.#phase === 'proxying') this.#session?.shutdown();
    else if (this.#phase === 'ready') this.goodbye(this.protocol.goodbyes.shutdown);
  }

  protected write(bytes: Buffer, done?: () => void): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    this.#socket.write(bytes, done ? () => done() : undefined);
  }

  /** Runs a command: nothing else is read meanwhile but the items it waits for. */
  protected run(command: () => Promise<void>): void {
    this.#running = true;
    command()
      .catch((err: unknown) => {
        // a bug here must cost this one connection, never the daemon
        this.log.error({ err: { message: err instanceof Error ? err.message : String(err) } }, `${this.protocol.name} connection failed`);
        this.#phase = 'closed';
        this.#socket.destroy();
      })
      .finally(() => {
        this.#running = false;
        if (this.#phase === 'ready') this.#pump();
      });
  }

  /** Writes `prompt` and waits for the client's next item (null: the connection closed first). */
  protected awaitItem(prompt: Buffer): Promise<Item | null> {
    return new Promise((resolve) => {
      this.#waiter = resolve;
      this.write(prompt);
      // the answer may already be buffered, or the socket paused by an earlier step of this command
      queueMicrotask(() => this.#pump());
    });
  }

  /** Writes a command's last line, counts it, then does what it asks. */
  protected answer(bytes: Buffer, effects: AnswerEffects): void {
    if (this.#phase !== 'ready') return;
    if (effects.bad) this.#badCommands++;
    if (effects.failedLogin) this.#failedLogins++;
    if (effects.after === 'starttls') {
      // no plaintext may be read past this point: stop reading before the answer leaves
      this.#upgrading = true;
      this.#socket.off('data', this.#onData);
      this.#socket.pause();
      this.write(bytes, () => this.#upgrade());
      return;
    }
    this.write(bytes);
    if (effects.after === 'close') return this.#end();
    if (effects.after === 'proxy') return this.#handOff();
    const { max_auth_failures, max_bad_commands } = this.protocol.limits(this.options.ctx);
    if (this.#failedLogins >= max_auth_failures) {
      this.log.info({ failures: this.#failedLogins }, `${this.protocol.name} client closed after too many failed logins`);
      this.goodbye(this.protocol.goodbyes.tooManyFailures);
    } else if (this.#badCommands >= max_bad_commands) {
      this.goodbye(this.protocol.goodbyes.tooManyBad);
    }
  }

  /**
   * Runs the protocol's login flow with this connection's part of its input;
   * on success the session waits for the answer's `after: 'proxy'`.
   * `internal` is answered when the client is gone (nobody reads it).
   */
  protected async login<R>(flow: (input: FrontLoginInput) => Promise<LoginOutcome<R>>, internal: R): Promise<R> {
    const ctx = this.options.ctx;
    const outcome = await flow({
      ctx,
      log: () => this.log,
      sessionLog: (fields) => ctx.log.child({ ...this.#logBindings, ...fields }),
      endpoint: this.options.endpoint,
      trusted: this.trusted,
      client: this.#socket,
      sessionId: this.id,
      isOpen: () => this.#phase === 'ready',
    });
    if (outcome.kind === 'gone') {
      this.#phase = 'closed';
      this.#socket.destroy();
      return internal;
    }
    if (outcome.kind === 'proxy') this.#session = outcome.session;
    return outcome.result;
  }

  /** Writes `line` and closes. */
  protected goodbye(line: Buffer): void {
    if (this.#phase !== 'ready') return;
    this.write(line);
    this.#end();
  }

  // --- socket plumbing -------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    if (this.#firstChunk) {
      this.#firstChunk = false;
      if (this.options.refuseProxyHeader && chunk.length >= 5 && looksLikeProxyHeader(chunk)) {
        this.log.warn(`PROXY header from a peer outside [${this.protocol.surface}] trusted_proxies: connection closed`);
        this.#phase = 'closed';
        this.#socket.destroy();
        return;
      }
    }
    this.push(chunk);
    this.#pump();
  };

  readonly #onError = (err: Error): void => {
    this.log.debug({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, `${this.protocol.name} client socket error`);
  };

  readonly #onClose = (): void => {
    if (this.#phase !== 'proxying') this.#phase = 'closed';
    this.#clearTimers();
    this.#wake(null);
    this.closed();
  };

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  /** Frames and handles input one item at a time; while a command runs, only the items it waits for are read. */
  #pump(): void {
    while (this.#phase === 'ready' && !this.#upgrading) {
      if (this.#running && !this.#waiter) {
        this.#socket.pause();
        return;
      }
      const item = this.nextItem();
      if (item === null) {
        if (this.#phase === 'ready') this.#socket.resume();
        return;
      }
      this.#idle.refresh();
      if (this.#waiter) this.#wake(item);
      else this.onItem(item);
    }
  }

  #wake(item: Item | null): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.(item);
  }

  #handOff(): void {
    const session = this.#session;
    if (!session) return;
    this.#phase = 'proxying';
    this.#clearTimers();
    this.options.ticket.authenticated();
    this.#socket.off('data', this.#onData);
    this.#socket.off('close', this.#onClose);
    this.#socket.once('close', () => this.closed());
    session.pipe(this.takePending());
  }

  #upgrade(): void {
    const raw = this.#socket;
    if (this.#phase !== 'ready' || raw.destroyed) return;
    if (this.bufferedInput() > 0 || raw.readableLength > 0) {
      // bytes sent behind STARTTLS before the handshake would be read as if they came over TLS (CVE-2011-0411)
      this.log.info(`${this.protocol.name} client sent data after STARTTLS before the TLS handshake: closed`);
      this.#phase = 'closed';
      raw.destroy();
      return;
    }
    raw.off('close', this.#onClose);
    raw.off('error', this.#onError);
    raw.on('error', () => undefined); // the TLS socket reports errors from here on
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.options.secureContext() });
    this.#upgrading = false;
    this.#socket = secure;
    this.#secure = true;
    // RFC 9051 6.2.1, RFC 2595 §4: nothing learnt in plaintext survives the upgrade
    this.resetForTls();
    this.#attach(secure);
    this.#idle.refresh();
  }

  #onIdle(): void {
    if (this.#phase !== 'ready') return;
    if (this.#running && !this.#waiter) {
      // a login waiting on the hash queue or the upstream is not idleness; a client owing a SASL answer is
      this.#idle.refresh();
      return;
    }
    this.log.debug(`${this.protocol.name} client idle before login: closing`);
    this.goodbye(this.protocol.goodbyes.idle);
  }

  #onLoginDeadline(): void {
    if (this.#phase !== 'ready') return;
    this.options.gate.hit('login_timeout', this.options.endpoint.clientIp);
    this.log.info(`${this.protocol.name} client did not log in before the login deadline: closing`);
    this.goodbye(this.protocol.goodbyes.loginTimeout);
  }

  #clearTimers(): void {
    clearTimeout(this.#idle);
    clearTimeout(this.#loginDeadline);
  }

  #end(): void {
    this.#phase = 'closed';
    this.#clearTimers();
    this.#wake(null);
    this.#socket.end();
    destroyLater(this.#socket, 2000);
  }
}
