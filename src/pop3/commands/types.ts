/**
 * What a command file exports and what it may use. Handlers get an explicit
 * context (never `this`), return a result, and never write to the socket:
 * the connection composes every line from the result.
 */
import type { SaslResponse } from '../../sasl/response.js';
import type { Pop3Status } from '../compose.js';

/** Our commands all run in the AUTHORIZATION state; afterwards the upstream speaks POP3, not us. */
export type ConnectionState = 'authorization';

export interface ArgSchema {
  readonly min: number;
  readonly max: number;
  /** The whole rest of the line is the one argument, spaces included (PASS, USER: RFC 1939 §7). */
  readonly rest?: boolean;
  /** Positions never logged: passwords, SASL responses. */
  readonly sensitive?: readonly number[];
}

export interface CommandSpec {
  readonly state: readonly ConnectionState[];
  readonly args: ArgSchema;
  /** Arguments as the client's bytes (user names and passwords are decoded by the login flow). */
  readonly handler: (ctx: CommandContext, args: readonly Buffer[]) => CommandResult | Promise<CommandResult>;
}

/** What happens after the answer is written. */
export type AfterCommand = 'close' | 'starttls' | 'proxy';

export interface CommandResult extends Pop3Status {
  /** A multi-line answer's lines (CAPA, AUTH without a mechanism). */
  readonly lines?: readonly string[];
  readonly after?: AfterCommand;
  /** A login attempt that failed: counts against max_auth_failures. */
  readonly failedLogin?: boolean;
  /** A command that should not have been sent: counts against max_bad_commands. */
  readonly bad?: boolean;
}

/** The credentials USER/PASS or AUTH produced, still as the client's bytes. */
export interface Credentials {
  readonly username: Buffer;
  readonly password: Buffer;
  readonly mechanism: 'USER' | 'PLAIN' | 'SASL-LOGIN';
}

/** What handlers may ask of the connection. */
export interface CommandContext {
  /** TLS is active (implicit or after STLS). */
  readonly secure: boolean;
  /** A plaintext listener that has not upgraded yet. */
  readonly startTlsAvailable: boolean;
  /** TLS, or a client in trusted networks: plaintext credentials are acceptable. */
  readonly credentialsAllowed: boolean;
  capabilities(): string[];
  /** The name from USER, waiting for PASS. */
  readonly pendingUser: Buffer | null;
  setPendingUser(name: Buffer | null): void;
  /**
   * Writes `+ challenge` and waits for the client's next line, decoded as a
   * SASL response (`*` is a cancel). A line over the limit is an error.
   */
  challenge(base64: string): Promise<SaslResponse>;
  /** Authenticates, and on success opens the upstream session; the result says how it went. */
  login(credentials: Credentials): Promise<CommandResult>;
}
