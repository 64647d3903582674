/**
 * One client connection before login: frames input with the parser's
 * CommandReader, runs each command through the dispatcher and writes every
 * line through the composer. The limits, deadlines, STARTTLS and the
 * hand-off to a ProxiedSession are the shared LineFrontConnection's.
 */
import { LineFrontConnection, type LineProtocol } from '../net/line-front-connection.js';
import type { LineFrontConnectionOptions } from '../net/line-front-surface.js';
import { VERSION } from '../paths.js';
import { preLoginCapabilities } from './capabilities.js';
import type { CommandContext, CommandResult, Credentials } from './commands/types.js';
import { composeContinuation, composeData, composeStatus } from './compose.js';
import { loggableArguments, resolveCommand } from './dispatch.js';
import {
  CommandReader, decodeSaslResponse, isParseError, parseCommand, type CommandItem, type ReaderItem, type SaslResponse,
} from './parser/index.js';
import { runLogin } from './login-flow.js';
import { BYES, GREETING_TEXT, REPLIES } from './replies.js';

/** Where the client really is: the TCP peer, or what a trusted proxy's PROXY header said. */
export type { ClientEndpoint } from '../net/client-endpoint.js';

export interface ConnectionOptions extends LineFrontConnectionOptions {
  readonly onClose: (connection: ImapConnection) => void;
}

const SIZE_ERRORS = new Set(['LITERAL_TOO_LARGE', 'NONSYNC_LITERAL_TOO_LARGE', 'COMMAND_TOO_LARGE', 'LINE_TOO_LONG']);

const IMAP: LineProtocol = {
  surface: 'imap',
  name: 'IMAP',
  limits: (ctx) => ctx.config.imap,
  goodbyes: {
    idle: composeStatus('*', BYES.idle),
    loginTimeout: composeStatus('*', BYES.loginTimeout),
    shutdown: composeStatus('*', BYES.shutdown),
    tooManyFailures: composeStatus('*', BYES.tooManyFailures),
    tooManyBad: composeStatus('*', BYES.tooManyBad),
  },
};
const INPUT_LIMIT = composeStatus('*', BYES.inputLimit);

export class ImapConnection extends LineFrontConnection<ReaderItem> {
  readonly #onClose: (connection: ImapConnection) => void;
  readonly #context: CommandContext;
  #reader = new CommandReader();
  #clientId: Record<string, string> | null = null;

  constructor(options: ConnectionOptions) {
    super(options, IMAP);
    this.#onClose = options.onClose;
    this.#context = this.#makeContext();
  }

  #makeContext(): CommandContext {
    return this.commandContext<CommandContext>({
      capabilities: () => this.#capabilities(),
      serverId: () => ({ name: 'devicepass', version: VERSION }),
      setClientId: (fields) => { this.#clientId = fields; },
      pendingInput: () => this.#reader.pendingBytes,
      challenge: (prompt) => this.#challenge(prompt),
      login: (credentials) => this.#login(credentials),
    });
  }

  #capabilities(): string[] {
    return preLoginCapabilities({ startTlsAvailable: this.startTlsAvailable, credentialsAllowed: this.credentialsAllowed });
  }

  // --- LineFrontConnection ---------------------------------------------------

  protected greeting(): Buffer {
    return composeStatus('*', { response: 'OK', code: { name: 'CAPABILITY', args: this.#capabilities() }, message: GREETING_TEXT });
  }

  protected push(chunk: Buffer): void {
    this.#reader.push(chunk);
  }

  protected nextItem(): ReaderItem | null {
    return this.#reader.read() ?? null;
  }

  protected onItem(item: ReaderItem): void {
    switch (item.kind) {
      case 'command':
        this.run(() => this.#execute(item));
        return;
      case 'continuation':
        this.write(composeContinuation('Ready for literal data'));
        return;
      case 'raw':
        return; // only requested by challenge(), which takes it itself
      case 'error':
        if (item.fatal) {
          this.goodbye(INPUT_LIMIT);
          return;
        }
        this.#respond(item.tag ?? '*', {
          response: 'BAD',
          ...(SIZE_ERRORS.has(item.code) ? { code: { name: 'TOOBIG' } } : {}),
          message: item.message,
        });
    }
  }

  protected bufferedInput(): number {
    return this.#reader.pendingBytes;
  }

  protected takePending(): Buffer {
    return this.#reader.takePending();
  }

  protected resetForTls(): void {
    this.#reader = new CommandReader();
    this.#clientId = null;
  }

  protected closed(): void {
    this.#onClose(this);
  }

  // --- commands --------------------------------------------------------------

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
      this.log.debug({ command: name, response: found.response }, 'IMAP command refused');
      this.#respond(parsed.tag, found);
      return;
    }
    this.log.debug({ command: found.key, args: loggableArguments(found.spec.schema, parsed.attributes) }, 'IMAP command');
    let result: CommandResult;
    try {
      result = await found.spec.handler(this.#context, parsed.attributes);
    } catch (err) {
      this.log.error({ err: { message: err instanceof Error ? err.message : String(err) }, command: found.key }, 'IMAP command failed');
      result = REPLIES.internal;
    }
    this.#respond(parsed.tag, result);
  }

  /** Writes the result (untagged lines, BYE, tagged line); the tagged line's effects are the shared code's. */
  #respond(tag: string, result: CommandResult): void {
    if (!this.ready) return;
    for (const data of result.untagged ?? []) this.write(composeData(data.name, data.values));
    if (result.bye) this.write(composeStatus('*', result.bye));
    this.answer(composeStatus(tag, result), { bad: result.response === 'BAD', failedLogin: result.failedLogin, after: result.after });
  }

  async #challenge(prompt: string): Promise<SaslResponse> {
    this.#reader.expectRawLine();
    const item = await this.awaitItem(composeContinuation(prompt));
    if (item?.kind === 'raw') return decodeSaslResponse(item.line);
    if (item?.kind === 'error' && item.fatal) this.goodbye(INPUT_LIMIT);
    return { kind: 'error', error: item?.kind === 'error' ? item.message : 'Connection closed' };
  }

  async #login(credentials: Credentials): Promise<CommandResult> {
    if (!this.credentialsAllowed) return REPLIES.privacyRequired;
    const clientId = this.#clientId;
    return this.login<CommandResult>((input) => runLogin({ ...input, clientId }, credentials), REPLIES.internal);
  }
}
