/**
 * One POP3 client connection before login: frames input into lines, runs
 * each command through the gate and writes every line through the
 * composer. The limits, deadlines, STLS and the hand-off to a
 * ProxiedSession are the shared LineFrontConnection's.
 */
import { LineFramer, LineTooLongError } from '../net/line-framer.js';
import { LineFrontConnection, type LineProtocol } from '../net/line-front-connection.js';
import type { LineFrontConnectionOptions } from '../net/line-front-surface.js';
import { decodeSaslResponse, type SaslResponse } from '../sasl/response.js';
import { preLoginCapabilities } from './capabilities.js';
import type { CommandContext, CommandResult, Credentials } from './commands/types.js';
import { composeContinuation, composeMultiline, composeStatus } from './compose.js';
import { loggableArguments, resolveCommand } from './dispatch.js';
import { runLogin } from './login-flow.js';
import { GOODBYES, GREETING, REPLIES } from './replies.js';
import type { Pop3Spares } from './upstream.js';

/**
 * Longest line before login, CRLF included: past it the connection is closed
 * without reading on. Commands are held to RFC 2449's 255 octets by the gate
 * (dispatch.ts), which answers a longer one and goes on; only the lines that
 * carry credentials may use all of this. The longest is an AUTH PLAIN initial
 * response with an authzid: 254 + 254 + 1024 bytes and two NULs, 2048 in
 * base64, 2061 with "AUTH PLAIN " and the CRLF.
 */
export const MAX_LINE_BYTES = 2560;

export interface Pop3ConnectionOptions extends LineFrontConnectionOptions {
  readonly onClose: (connection: Pop3Connection) => void;
  /** The front's spare upstream connections. */
  readonly shared: Pop3Spares | null;
}

const POP3: LineProtocol = {
  surface: 'pop3',
  name: 'POP3',
  limits: (ctx) => ctx.config.pop3,
  goodbyes: {
    idle: composeStatus(GOODBYES.idle),
    loginTimeout: composeStatus(GOODBYES.loginTimeout),
    shutdown: composeStatus(GOODBYES.shutdown),
    tooManyFailures: composeStatus(GOODBYES.tooManyFailures),
    tooManyBad: composeStatus(GOODBYES.tooManyBad),
  },
};
const LINE_TOO_LONG = composeStatus(GOODBYES.lineTooLong);

export class Pop3Connection extends LineFrontConnection<Buffer> {
  readonly #onClose: (connection: Pop3Connection) => void;
  readonly #spares: Pop3Spares | null;
  readonly #context: CommandContext;
  #framer = new LineFramer(MAX_LINE_BYTES);
  #pendingUser: Buffer | null = null;

  constructor(options: Pop3ConnectionOptions) {
    super(options, POP3);
    this.#onClose = options.onClose;
    this.#spares = options.shared;
    this.#context = this.#makeContext();
  }

  #makeContext(): CommandContext {
    // `self` because inside the getter `this` is the literal
    const self = this;
    return this.commandContext<CommandContext>({
      get pendingUser() { return self.#pendingUser; },
      setPendingUser: (name) => { this.#pendingUser = name; },
      capabilities: () => preLoginCapabilities({ startTlsAvailable: this.startTlsAvailable, credentialsAllowed: this.credentialsAllowed }),
      challenge: (base64) => this.#challenge(base64),
      login: (credentials) => this.#login(credentials),
    });
  }

  // --- LineFrontConnection ---------------------------------------------------

  protected greeting(): Buffer {
    return composeStatus(GREETING);
  }

  protected push(chunk: Buffer): void {
    this.#framer.push(chunk);
  }

  protected nextItem(): Buffer | null {
    try {
      return this.#framer.next();
    } catch (err) {
      if (!(err instanceof LineTooLongError)) throw err;
      this.log.debug('POP3 line too long: closing');
      this.goodbye(LINE_TOO_LONG);
      return null;
    }
  }

  protected onItem(line: Buffer): void {
    this.run(() => this.#execute(line));
  }

  protected bufferedInput(): number {
    return this.#framer.buffered;
  }

  protected takePending(): Buffer {
    return this.#framer.rest();
  }

  protected resetForTls(): void {
    this.#framer = new LineFramer(MAX_LINE_BYTES);
    this.#pendingUser = null;
  }

  protected closed(): void {
    this.#onClose(this);
  }

  // --- commands --------------------------------------------------------------

  async #execute(line: Buffer): Promise<void> {
    const found = resolveCommand(line, 'authorization');
    if (!('spec' in found)) {
      // the keyword only when it cannot be a mistyped password (those are 16+ characters)
      const name = /^[A-Z]{1,8}$/.test(found.keyword) ? found.keyword : '[other]';
      this.log.debug({ command: name, reply: found.text }, 'POP3 command refused');
      this.#respond(found);
      return;
    }
    this.log.debug({ command: found.key, args: loggableArguments(found.spec, found.args) }, 'POP3 command');
    let result: CommandResult;
    try {
      result = await found.spec.handler(this.#context, found.args);
    } catch (err) {
      this.log.error({ err: { message: err instanceof Error ? err.message : String(err) }, command: found.key }, 'POP3 command failed');
      result = REPLIES.internal;
    }
    this.#respond(result);
  }

  #respond(result: CommandResult): void {
    this.answer(result.lines ? composeMultiline(result, result.lines) : composeStatus(result), result);
  }

  async #challenge(base64: string): Promise<SaslResponse> {
    const line = await this.awaitItem(composeContinuation(base64));
    return line ? decodeSaslResponse(line) : { kind: 'error', error: 'Connection closed' };
  }

  async #login(credentials: Credentials): Promise<CommandResult> {
    if (!this.credentialsAllowed) return REPLIES.privacyRequired;
    return this.login<CommandResult>((input) => runLogin(input, credentials, this.#spares), REPLIES.internal);
  }
}
