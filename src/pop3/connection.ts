/**
 * One POP3 client connection before login: frames input into lines, runs one
 * command at a time through the gate, writes every line through the
 * composer, enforces the per-connection limits and deadlines, and after a
 * successful login hands the socket to a ProxiedSession.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import type { ClientEndpoint } from '../net/client-endpoint.js';
import type { ConnectionGate, ConnectionTicket } from '../net/connection-gate.js';
import { destroyLater } from '../net/destroy-later.js';
import { LineFramer, LineTooLongError } from '../net/line-framer.js';
import type { ProxiedSession } from '../net/proxied-session.js';
import { looksLikeProxyHeader } from '../net/proxy-protocol.js';
import { decodeSaslResponse, type SaslResponse } from '../sasl/response.js';
import type { FrontContext } from '../surfaces.js';
import { preLoginCapabilities } from './capabilities.js';
import type { CommandContext, CommandResult, Credentials } from './commands/types.js';
import { composeContinuation, composeMultiline, composeStatus, type Pop3Status } from './compose.js';
import { loggableArguments, resolveCommand } from './dispatch.js';
import { runLogin } from './login-flow.js';
import { GOODBYES, GREETING, REPLIES } from './replies.js';

/**
 * Longest line before login, CRLF included. RFC 2449 allows commands of 255
 * octets, but an AUTH PLAIN initial response for a long address and password
 * needs more, and SASL lines have no limit of their own.
 */
export const MAX_LINE_BYTES = 2048;

export interface Pop3ConnectionOptions {
  readonly ctx: FrontContext;
  readonly socket: Socket;
  readonly implicitTls: boolean;
  readonly endpoint: ClientEndpoint;
  /** Read when STLS begins: a reloaded certificate reaches it. */
  readonly secureContext: () => tls.SecureContext;
  /** Refuse a PROXY header as the first bytes (the peer is not a trusted proxy, or already sent one). */
  readonly refuseProxyHeader: boolean;
  readonly onClose: (connection: Pop3Connection) => void;
  /** The front's connection limits: a login leaves the unauthenticated counts, a missed deadline is counted. */
  readonly gate: ConnectionGate;
  readonly ticket: ConnectionTicket;
}

type Phase = 'ready' | 'proxying' | 'closed';

export class Pop3Connection {
  readonly id = randomBytes(6).toString('hex');
  readonly #o: Pop3ConnectionOptions;
  readonly #logBindings: { readonly surface: 'pop3'; readonly conn: string; readonly clientIp: string };
  #logger: Logger | null = null;
  readonly #trusted: boolean;
  readonly #context: CommandContext;
  #socket: Socket;
  #framer = new LineFramer(MAX_LINE_BYTES);
  #secure: boolean;
  #phase: Phase = 'ready';
  #running = false;
  #lineWaiter: ((line: Buffer | null) => void) | null = null;
  #badCommands = 0;
  #failedLogins = 0;
  #pendingUser: Buffer | null = null;
  #firstChunk = true;
  /** Between STLS's +OK and the TLS wrap: the plaintext socket must stay unread. */
  #upgrading = false;
  #session: ProxiedSession | null = null;
  /** Refreshed by each complete line, not each byte: a client trickling a byte at a time is idle. */
  readonly #idle: NodeJS.Timeout;
  /** From connect to login, whatever the client sends. */
  readonly #deadline: NodeJS.Timeout;

  constructor(options: Pop3ConnectionOptions) {
    this.#o = options;
    this.#socket = options.socket;
    this.#secure = options.implicitTls;
    this.#trusted = options.ctx.trustedNetworks.has(options.endpoint.clientIp);
    this.#logBindings = { surface: 'pop3', conn: this.id, clientIp: options.endpoint.clientIp };
    this.#context = this.#makeContext();
    const { idle_timeout, login_timeout } = options.ctx.config.pop3;
    this.#idle = setTimeout(() => this.#onIdle(), idle_timeout).unref();
    this.#deadline = setTimeout(() => this.#onDeadline(), login_timeout).unref();
  }

  /** Made on first use: most connections write no line of their own before the login's, which has its own child. */
  get #log(): Logger {
    return (this.#logger ??= this.#o.ctx.log.child(this.#logBindings));
  }

  start(): void {
    this.#attach(this.#socket);
    this.#socket.setNoDelay(true);
    this.#write(composeStatus(GREETING));
  }

  /** Server shutdown. */
  close(): void {
    if (this.#phase === 'proxying') this.#session?.shutdown();
    else if (this.#phase === 'ready') this.#goodbye(GOODBYES.shutdown);
  }

  #makeContext(): CommandContext {
    // getters, so handlers always see the current state; `self` because inside them `this` is the literal
    const self = this;
    return {
      get secure() { return self.#secure; },
      get startTlsAvailable() { return self.#startTlsAvailable(); },
      get credentialsAllowed() { return self.#credentialsAllowed(); },
      get pendingUser() { return self.#pendingUser; },
      setPendingUser: (name) => { this.#pendingUser = name; },
      capabilities: () => preLoginCapabilities({ startTlsAvailable: this.#startTlsAvailable(), credentialsAllowed: this.#credentialsAllowed() }),
      challenge: (base64) => this.#challenge(base64),
      login: (credentials) => this.#login(credentials),
    };
  }

  #startTlsAvailable(): boolean {
    return !this.#o.implicitTls && !this.#secure;
  }

  #credentialsAllowed(): boolean {
    return this.#secure || this.#trusted;
  }

  // --- socket plumbing -------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    if (this.#firstChunk) {
      this.#firstChunk = false;
      if (this.#o.refuseProxyHeader && chunk.length >= 5 && looksLikeProxyHeader(chunk)) {
        this.#log.warn('PROXY header from a peer outside [pop3] trusted_proxies: connection closed');
        this.#phase = 'closed';
        this.#socket.destroy();
        return;
      }
    }
    this.#framer.push(chunk);
    this.#pump();
  };

  readonly #onError = (err: Error): void => {
    this.#log.debug({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'POP3 client socket error');
  };

  readonly #onClose = (): void => {
    if (this.#phase !== 'proxying') this.#phase = 'closed';
    this.#clearTimers();
    this.#wakeLineWaiter(null);
    this.#o.onClose(this);
  };

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  #write(bytes: Buffer, done?: () => void): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    this.#socket.write(bytes, done ? () => done() : undefined);
  }

  // --- input loop ------------------------------------------------------------

  /** Frames and handles input one line at a time; while a command runs, only its SASL lines are read. */
  #pump(): void {
    while (this.#phase === 'ready' && !this.#upgrading) {
      if (this.#running && !this.#lineWaiter) {
        this.#socket.pause();
        return;
      }
      let line: Buffer | null;
      try {
        line = this.#framer.next();
      } catch (err) {
        if (!(err instanceof LineTooLongError)) throw err;
        this.#log.debug('POP3 line too long: closing');
        this.#goodbye(GOODBYES.lineTooLong);
        return;
      }
      if (!line) {
        this.#socket.resume();
        return;
      }
      this.#idle.refresh();
      if (this.#lineWaiter) this.#wakeLineWaiter(line);
      else this.#onLine(line);
    }
  }

  #onLine(line: Buffer): void {
    this.#running = true;
    this.#execute(line)
      .catch((err: unknown) => {
        // a bug here must cost this one connection, never the daemon
        this.#log.error({ err: { message: err instanceof Error ? err.message : String(err) } }, 'POP3 connection failed');
        this.#phase = 'closed';
        this.#socket.destroy();
      })
      .finally(() => {
        this.#running = false;
        if (this.#phase === 'ready') this.#pump();
      });
  }

  async #execute(line: Buffer): Promise<void> {
    const found = resolveCommand(line, 'authorization');
    if (!('spec' in found)) {
      // the keyword only when it cannot be a mistyped password (those are 16+ characters)
      const name = /^[A-Z]{1,8}$/.test(found.keyword) ? found.keyword : '[other]';
      this.#log.debug({ command: name, reply: found.text }, 'POP3 command refused');
      this.#respond(found);
      return;
    }
    this.#log.debug({ command: found.key, args: loggableArguments(found.spec, found.args) }, 'POP3 command');
    let result: CommandResult;
    try {
      result = await found.spec.handler(this.#context, found.args);
    } catch (err) {
      this.#log.error({ err: { message: err instanceof Error ? err.message : String(err) }, command: found.key }, 'POP3 command failed');
      result = REPLIES.internal;
    }
    this.#respond(result);
  }

  /** Writes the result, counts it, then does what it asks. */
  #respond(result: CommandResult): void {
    if (this.#phase !== 'ready') return;
    const bytes = result.lines ? composeMultiline(result, result.lines) : composeStatus(result);
    if (result.bad) this.#badCommands++;
    if (result.failedLogin) this.#failedLogins++;
    if (result.after === 'starttls') {
      // no plaintext may be read past this point: stop reading before the +OK leaves
      this.#upgrading = true;
      this.#socket.off('data', this.#onData);
      this.#socket.pause();
      this.#write(bytes, () => this.#upgrade());
      return;
    }
    this.#write(bytes);
    if (result.after === 'close') return this.#end();
    if (result.after === 'proxy') return this.#handOff();
    const { max_auth_failures, max_bad_commands } = this.#o.ctx.config.pop3;
    if (this.#failedLogins >= max_auth_failures) {
      this.#log.info({ failures: this.#failedLogins }, 'POP3 client closed after too many failed logins');
      this.#goodbye(GOODBYES.tooManyFailures);
    } else if (this.#badCommands >= max_bad_commands) {
      this.#goodbye(GOODBYES.tooManyBad);
    }
  }

  #challenge(base64: string): Promise<SaslResponse> {
    return new Promise((resolve) => {
      this.#lineWaiter = (line) => resolve(line ? decodeSaslResponse(line) : { kind: 'error', error: 'Connection closed' });
      this.#write(composeContinuation(base64));
      // the answer may already be buffered, or the socket paused by an earlier step of this command
      queueMicrotask(() => this.#pump());
    });
  }

  #wakeLineWaiter(line: Buffer | null): void {
    const waiter = this.#lineWaiter;
    this.#lineWaiter = null;
    waiter?.(line);
  }

  // --- login and hand-off ----------------------------------------------------

  async #login(credentials: Credentials): Promise<CommandResult> {
    if (!this.#credentialsAllowed()) return REPLIES.privacyRequired;
    const outcome = await runLogin(
      {
        ctx: this.#o.ctx,
        log: () => this.#log,
        sessionLog: (fields) => this.#o.ctx.log.child({ ...this.#logBindings, ...fields }),
        endpoint: this.#o.endpoint,
        trusted: this.#trusted,
        client: this.#socket,
        sessionId: this.id,
        isOpen: () => this.#phase === 'ready',
      },
      credentials,
    );
    if (outcome.kind === 'gone') {
      this.#phase = 'closed';
      this.#socket.destroy();
      return REPLIES.internal; // nobody is left to read it
    }
    if (outcome.kind === 'proxy') this.#session = outcome.session;
    return outcome.result;
  }

  #handOff(): void {
    const session = this.#session;
    if (!session) return;
    this.#phase = 'proxying';
    this.#o.ticket.authenticated();
    this.#clearTimers();
    this.#socket.off('data', this.#onData);
    this.#socket.off('close', this.#onClose);
    this.#socket.once('close', () => this.#o.onClose(this));
    // what the client pipelined behind its login (RFC 2449 PIPELINING) belongs to the upstream
    session.pipe(this.#framer.rest());
  }

  #upgrade(): void {
    const raw = this.#socket;
    if (this.#phase !== 'ready' || raw.destroyed) return;
    if (this.#framer.buffered > 0 || raw.readableLength > 0) {
      // bytes sent behind STLS before the handshake would be read as if they came over TLS (CVE-2011-0411)
      this.#log.info('POP3 client sent data after STLS before the TLS handshake: closed');
      this.#phase = 'closed';
      raw.destroy();
      return;
    }
    raw.off('close', this.#onClose);
    raw.off('error', this.#onError);
    raw.on('error', () => undefined); // the TLS socket reports errors from here on
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.#o.secureContext() });
    this.#upgrading = false;
    this.#socket = secure;
    this.#secure = true;
    // RFC 2595 §4: nothing sent in plaintext survives the upgrade
    this.#framer = new LineFramer(MAX_LINE_BYTES);
    this.#pendingUser = null;
    this.#attach(secure);
    this.#idle.refresh();
  }

  #onIdle(): void {
    if (this.#phase !== 'ready') return;
    if (this.#running && !this.#lineWaiter) {
      // a login waiting on the hash queue or the upstream is not idleness; a client owing a SASL answer is
      this.#idle.refresh();
      return;
    }
    this.#log.debug('POP3 client idle before login: closing');
    this.#goodbye(GOODBYES.idle);
  }

  #onDeadline(): void {
    if (this.#phase !== 'ready') return;
    this.#o.gate.hit('login_timeout', this.#o.endpoint.clientIp);
    this.#log.info('POP3 client did not log in before the login deadline: closing');
    this.#goodbye(GOODBYES.loginTimeout);
  }

  #goodbye(status: Pop3Status): void {
    if (this.#phase !== 'ready') return;
    this.#write(composeStatus(status));
    this.#end();
  }

  #clearTimers(): void {
    clearTimeout(this.#idle);
    clearTimeout(this.#deadline);
  }

  #end(): void {
    this.#phase = 'closed';
    this.#clearTimers();
    this.#wakeLineWaiter(null);
    this.#socket.end();
    destroyLater(this.#socket, 2000);
  }
}
