/**
 * What a command file exports and what it may use. Handlers get an explicit
 * context (never `this`), return a result, and never write to the socket:
 * the connection composes every line from the result.
 */
import type { ImapValue, ResponseCode, StatusResponse } from '../compose.js';
import type { ImapNode, SaslResponse } from '../parser/index.js';

/** Our commands all run before login; afterwards the upstream speaks IMAP, not us. */
export type ConnectionState = 'not-authenticated';

/** How the dispatcher checks an argument before the handler sees it. */
export type ArgKind =
  | 'astring' // atom, quoted string or literal (LOGIN user/password)
  | 'atom' // a bare token (mechanism name, SASL-IR base64)
  | 'list-or-nil'; // a parenthesized list or NIL (ID parameters)

export interface ArgSpec {
  readonly name: string;
  readonly kind: ArgKind;
  readonly optional?: boolean;
  /** Never logged: passwords, SASL responses. */
  readonly sensitive?: boolean;
}

export interface CommandSpec {
  readonly state: readonly ConnectionState[];
  readonly schema: readonly ArgSpec[];
  readonly handler: (ctx: CommandContext, args: readonly ImapNode[]) => CommandResult | Promise<CommandResult>;
}

/** An untagged line sent before the tagged result: `* NAME values…`. */
export interface UntaggedData {
  readonly name: string;
  readonly values: readonly ImapValue[];
}

/** What happens after the tagged line is written. */
export type AfterCommand = 'close' | 'starttls' | 'proxy';

export interface CommandResult {
  readonly response: 'OK' | 'NO' | 'BAD';
  readonly code?: ResponseCode;
  readonly message: string;
  readonly untagged?: readonly UntaggedData[];
  /** `* BYE` written before the tagged line (LOGOUT) or before closing. */
  readonly bye?: StatusResponse;
  readonly after?: AfterCommand;
  /** A login attempt that failed: counts against max_auth_failures. */
  readonly failedLogin?: boolean;
}

/** The credentials a LOGIN or AUTHENTICATE produced, still as the client's bytes. */
export interface Credentials {
  readonly username: Buffer;
  readonly password: Buffer;
  readonly mechanism: 'LOGIN' | 'PLAIN' | 'SASL-LOGIN';
}

/** What handlers may ask of the connection. */
export interface CommandContext {
  /** TLS is active (implicit or after STARTTLS). */
  readonly secure: boolean;
  /** A plaintext listener that has not upgraded yet. */
  readonly startTlsAvailable: boolean;
  /** TLS, or a client in trusted networks: plaintext credentials are acceptable. */
  readonly credentialsAllowed: boolean;
  capabilities(): string[];
  serverId(): Record<string, string>;
  setClientId(fields: Record<string, string> | null): void;
  /** Unread bytes pipelined behind the current command. */
  pendingInput(): number;
  /**
   * Writes `+ prompt` and waits for the client's next line, decoded as a
   * SASL response (`*` is a cancel). A line over the limit is an error.
   */
  challenge(prompt: string): Promise<SaslResponse>;
  /** Authenticates, and on success opens the upstream session; the result says how it went. */
  login(credentials: Credentials): Promise<CommandResult>;
}
