/**
 * One client connection before login: frames input with the parser's
 * CommandReader, runs one command at a time through the dispatcher, writes
 * every line through the composer, enforces the per-connection limits, and
 * after a successful login hands the socket to a ProxiedSession.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import type { ClientEndpoint } from '../net/client-endpoint.js';
import type { ConnectionGate, ConnectionTicket } from '../net/connection-gate.js';
import { destroyLater } from '../net/destroy-later.js';
import { looksLikeProxyHeader } from '../net/proxy-protocol.js';
import { VERSION } from '../paths.js';
import type { FrontContext } from '../surfaces.js';
import { preLoginCapabilities } from './capabilities.js';
import type { CommandContext, CommandResult, Credentials } from './commands/types.js';
import { composeContinuation, composeData, composeStatus, type StatusResponse } from './compose.js';
import { loggableArguments, resolveCommand } from './dispatch.js';
import {
  CommandReader, decodeSaslResponse, isParseError, parseCommand, type CommandItem, type ReaderItem, type SaslResponse,
} from './parser/index.js';
import { runLogin } from './login-flow.js';
import type { ProxiedSession } from './proxied-session.js';
import { BYES, GREETING_TEXT, REPLIES } from './replies.js';

/** Where the client really is: the TCP peer, or what a trusted proxy's PROXY header said. */
export type { ClientEndpoint } from '../net/client-endpoint.js';

export interface ConnectionOptions {
  readonly ctx: FrontContext;
  readonly socket: Socket;
  readonly implicitTls: boolean;
  readonly endpoint: ClientEndpoint;
  /** Read when STARTTLS begins: a reloaded certificate reaches it. */
  readonly secureContext: () => tls.SecureContext;
  /** Refuse a PROXY header as the first bytes (the peer is not a trusted proxy, or already sent one). */
  readonly refuseProxyHeader: boolean;
  /** The front's limits, and this connection's place in their counts. */
  readonly gate: ConnectionGate;
  readonly ticket: ConnectionTicket;
  readonly onClose: (connection: ImapConnection) => void;
}

type Phase = 'ready' | 'proxying' | 'closed';

const SIZE_ERRORS = new Set(['LITERAL_TOO_LARGE', 'NONSYNC_LITERAL_TOO_LARGE', 'COMMAND_TOO_LARGE', 'LINE_TOO_LONG']);

export class ImapConnection {
  readonly id = randomBytes(6).toString('hex');
  readonly #o: ConnectionOptions;
  readonly #logBindings: { readonly surface: 'imap'; readonly conn: string; readonly clientIp: string };
  #logger: Logger | null = null;
  readonly #trusted: boolean;
  readonly #context: CommandContext;
  #socket: Socket;
  #reader = new CommandReader();
  #secure: boolean;
  #phase: Phase = 'ready';
  #running = false;
  #rawWaiter: ((item: ReaderItem | null) => void) | null = null;
  #badCommands = 0;
  #failedLogins = 0;
  #clientId: Record<string, string> | null = null;
  #firstChunk = true;
  /** Between STARTTLS's OK and the TLS wrap: the plaintext socket must stay unread. */
  #upgrading = false;
  #session: ProxiedSession | null = null;
  readonly #idle: NodeJS.Timeout;
  /** From accept to login: nothing the client sends extends it. */
  readonly #loginDeadline: NodeJS.Timeout;

  constructor(options: ConnectionOptions) {
    this.#o = options;
    this.#socket = options.socket;
    this.#secure = options.implicitTls;
    this.#trusted = options.ctx.trustedNetworks.has(options.endpoint.clientIp);
    this.#logBindings = { surface: 'imap', conn: this.id, clientIp: options.endpoint.clientIp };
    this.#context = this.#makeContext();
    this.#idle = setTimeout(() => this.#onIdle(), options.ctx.config.imap.idle_timeout);
    this.#idle.unref();
    this.#loginDeadline = setTimeout(() => this.#onLoginDeadline(), options.ctx.config.imap.login_timeout);
    this.#loginDeadline.unref();
  }

  /**
   * Made on first use: most connections write no line of their own before
   * the login's, which has its own child logger, and a pino child (bindings
   * serialized and redacted up front) was a measurable part of each accept.
   */
  get #log(): Logger {
    return (this.#logger ??= this.#o.ctx.log.child(this.#logBindings));
  }

  start(): void {
    this.#attach(this.#socket);
    this.#socket.setNoDelay(true);
    const caps = this.#capabilities();
    this.#write(composeStatus('*', { response: 'OK', code: { name: 'CAPABILITY', args: caps }, message: GREETING_TEXT }));
  }

  /** Server shutdown. */
  close(): void {
    if (this.#phase === 'proxying') this.#session?.shutdown();
    else if (this.#phase === 'ready') this.#bye(BYES.shutdown);
  }

  #makeContext(): CommandContext {
    // getters, so handlers always see the current TLS state; `self` because inside them `this` is the literal
    const self = this;
    return {
      get secure() { return self.#secure; },
      get startTlsAvailable() { return self.#startTlsAvailable(); },
      get credentialsAllowed() { return self.#secure || self.#trusted; },
      capabilities: () => this.#capabilities(),
      serverId: () => ({ name: 'devicepass', version: VERSION }),
      setClientId: (fields) => { this.#clientId = fields; },
      pendingInput: () => this.#reader.pendingBytes,
      challenge: (prompt) => this.#challenge(prompt),
      login: (credentials) => this.#login(credentials),
    };
  }

  #startTlsAvailable(): boolean {
    return !this.#o.implicitTls && !this.#secure;
  }

  #capabilities(): string[] {
    return preLoginCapabilities({ startTlsAvailable: this.#startTlsAvailable(), credentialsAllowed: this.#secure || this.#trusted });
  }

  // --- socket plumbing -------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    if (this.#firstChunk) {
      this.#firstChunk = false;
      if (this.#o.refuseProxyHeader && chunk.length >= 5 && looksLikeProxyHeader(chunk)) {
        this.#log.warn('PROXY header from a peer outside [imap] trusted_proxies: connection closed');
        this.#socket.destroy();
        return;
      }
    }
    this.#reader.push(chunk);
    this.#pump();
  };

  readonly #onError = (err: Error): void => {
    this.#log.debug({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'IMAP client socket error');
  };

  readonly #onClose = (): void => {
    if (this.#phase !== 'proxying') this.#phase = 'closed';
    clearTimeout(this.#idle);
    clearTimeout(this.#loginDeadline);
    this.#wakeRawWaiter(null);
    this.#o.onClose(this);
  };

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  #detachInput(socket: Socket): void {
    socket.off('data', this.#onData);
    socket.pause();
  }

  #write(bytes: Buffer, done?: () => void): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    this.#socket.write(bytes, done ? () => done() : undefined);
  }

  // --- input loop ------------------------------------------------------------

  /** Frames and handles input one item at a time; while a command runs, only its SASL lines are read. */
  #pump(): void {
    while (this.#phase === 'ready' && !this.#upgrading) {
      if (this.#running && !this.#rawWaiter) {
        this.#socket.pause();
        return;
      }
      const item = this.#reader.read();
      if (!item) {
        if (!this.#running || this.#rawWaiter) this.#socket.resume();
        return;
      }
      // silence is measured between whole commands: a byte now and then does not keep a connection alive
      this.#idle.refresh();
      if (this.#rawWaiter) this.#wakeRawWaiter(item);
      else this.#onItem(item);
    }
  }

  #onItem(item: ReaderItem): void {
    switch (item.kind) {
      case 'command':
        this.#running = true;
        this.#execute(item)
          .catch((err: unknown) => {
            // a bug here must cost this one connection, never the daemon
            this.#log.error({ err: { message: err instanceof Error ? err.message : String(err) } }, 'IMAP connection failed');
            this.#phase = 'closed';
            this.#socket.destroy();
          })
          .finally(() => {
            this.#running = false;
            if (this.#phase === 'ready') this.#pump();
          });
        return;
      case 'continuation':
        this.#write(composeContinuation('Ready for literal data'));
        return;
      case 'raw':
        return; // only requested by challenge(), which takes it itself
      case 'error':
        if (item.fatal) {
          this.#bye(BYES.inputLimit);
          return;
        }
        this.#respond(item.tag ?? '*', {
          response: 'BAD',
          ...(SIZE_ERRORS.has(item.code) ? { code: { name: 'TOOBIG' } } : {}),
          message: item.message,
        });
    }
  }

  async #execute(item: CommandItem): Promise<void> {
    const parsed = parseCommand(item.line, item.literals);
    if (isParseError(parsed)) {
      this.#respond(parsed.tag ?? '*', { response: 'BAD', message: parsed.error });
      return;
    }
    const found = resolveCommand(parsed, 'not-authenticated');
    if (!('spec' in found)) {
      // never the arguments, and the name only when it cannot be a mistyped password (those are 16+ characters)
      const name = /^[A-Z]{1,12}$/.test(parsed.command) ? parsed.command : '[other]';
      this.#log.debug({ command: name, response: found.response }, 'IMAP command refused');
      this.#respond(parsed.tag, found);
      return;
    }
    this.#log.debug({ command: found.key, args: loggableArguments(found.spec.schema, parsed.attributes) }, 'IMAP command');
    let result: CommandResult;
    try {
      result = await found.spec.handler(this.#context, parsed.attributes);
    } catch (err) {
      this.#log.error({ err: { message: err instanceof Error ? err.message : String(err) }, command: found.key }, 'IMAP command failed');
      result = REPLIES.internal;
    }
    this.#respond(parsed.tag, result);
  }

  /** Writes the result (untagged lines, BYE, tagged line), counts it, then does what it asks. */
  #respond(tag: string, result: CommandResult): void {
    if (this.#phase !== 'ready') return;
    for (const data of result.untagged ?? []) this.#write(composeData(data.name, data.values));
    if (result.bye) this.#write(composeStatus('*', result.bye));
    const line = composeStatus(tag, result);
    if (result.response === 'BAD') this.#badCommands++;
    if (result.failedLogin) this.#failedLogins++;
    if (result.after === 'starttls') {
      // no plaintext may be read past this point: stop reading before the OK leaves
      this.#upgrading = true;
      this.#detachInput(this.#socket);
      this.#write(line, () => this.#upgrade());
      return;
    }
    this.#write(line);
    if (result.after === 'close') return this.#end();
    if (result.after === 'proxy') return this.#handOff();
    const { max_auth_failures, max_bad_commands } = this.#o.ctx.config.imap;
    if (this.#failedLogins >= max_auth_failures) this.#bye(BYES.tooManyFailures);
    else if (this.#badCommands >= max_bad_commands) this.#bye(BYES.tooManyBad);
  }

  #challenge(prompt: string): Promise<SaslResponse> {
    return new Promise((resolve) => {
      this.#reader.expectRawLine();
      this.#rawWaiter = (item) => {
        if (item?.kind === 'raw') return resolve(decodeSaslResponse(item.line));
        if (item?.kind === 'error' && item.fatal) this.#bye(BYES.inputLimit);
        resolve({ kind: 'error', error: item?.kind === 'error' ? item.message : 'Connection closed' });
      };
      this.#write(composeContinuation(prompt));
      // the answer may already be buffered, or the socket paused by an earlier step of this command
      queueMicrotask(() => this.#pump());
    });
  }

  #wakeRawWaiter(item: ReaderItem | null): void {
    const waiter = this.#rawWaiter;
    this.#rawWaiter = null;
    waiter?.(item);
  }

  // --- login and hand-off ----------------------------------------------------

  async #login(credentials: Credentials): Promise<CommandResult> {
    if (!this.#context.credentialsAllowed) return REPLIES.privacyRequired;
    const outcome = await runLogin(
      {
        ctx: this.#o.ctx,
        log: () => this.#log,
        sessionLog: (fields) => this.#o.ctx.log.child({ ...this.#logBindings, ...fields }),
        endpoint: this.#o.endpoint,
        client: this.#socket,
        clientId: this.#clientId,
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
    clearTimeout(this.#idle);
    clearTimeout(this.#loginDeadline);
    this.#o.ticket.authenticated();
    this.#socket.off('data', this.#onData);
    this.#socket.off('close', this.#onClose);
    this.#socket.once('close', () => this.#o.onClose(this));
    session.pipe(this.#reader.takePending());
  }

  #upgrade(): void {
    const raw = this.#socket;
    if (this.#phase !== 'ready' || raw.destroyed) return;
    raw.off('close', this.#onClose);
    raw.off('error', this.#onError);
    raw.on('error', () => undefined); // the TLS socket reports errors from here on
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.#o.secureContext() });
    this.#upgrading = false;
    this.#socket = secure;
    this.#secure = true;
    // RFC 9051 6.2.1: forget everything learnt in plaintext
    this.#reader = new CommandReader();
    this.#clientId = null;
    this.#attach(secure);
    this.#idle.refresh();
  }

  #onIdle(): void {
    if (this.#phase !== 'ready') return;
    if (this.#running && !this.#rawWaiter) {
      // a login waiting on the hash queue or the upstream is not idleness; a client owing a SASL answer is
      this.#idle.refresh();
      return;
    }
    this.#log.debug('IMAP client idle before login: closing');
    this.#bye(BYES.idle);
  }

  #onLoginDeadline(): void {
    if (this.#phase !== 'ready') return;
    this.#o.gate.hit('login_timeout', this.#o.endpoint.clientIp);
    this.#bye(BYES.loginTimeout);
  }

  #bye(status: StatusResponse): void {
    if (this.#phase !== 'ready') return;
    this.#write(composeStatus('*', status));
    this.#end();
  }

  #end(): void {
    this.#phase = 'closed';
    clearTimeout(this.#idle);
    clearTimeout(this.#loginDeadline);
    this.#wakeRawWaiter(null);
    this.#socket.end();
    destroyLater(this.#socket, 2000);
  }
}
