/**
 * Options and output items of CommandReader, kept apart so that connection
 * code can depend on the shapes without the implementation.
 */

export interface LineReaderOptions {
  /** Longest physical line, CRLF excluded. Default 8192. */
  readonly maxLineLength?: number;
  /** Largest literal accepted. Default 65536 (pre-auth needs a few hundred bytes). */
  readonly maxLiteralSize?: number;
  /**
   * Largest `{N+}` literal accepted: 4096 for LITERAL- (the default), up to
   * maxLiteralSize for LITERAL+, 0 when neither is advertised.
   */
  readonly maxNonSyncLiteralSize?: number;
  /** Wire bytes of one command: all lines with their CRLFs plus literal data. Default 81920. */
  readonly maxCommandSize?: number;
  /** Literals in one command. Default 64 (ID allows 30 field/value pairs). */
  readonly maxLiterals?: number;
  /** Bytes skipped after a rejection before giving up on the connection. Default 1 MiB. */
  readonly maxDiscardSize?: number;
}

export type ReaderLimits = Readonly<Required<LineReaderOptions>>;

export const DEFAULT_READER_LIMITS: ReaderLimits = Object.freeze({
  maxLineLength: 8192,
  maxLiteralSize: 65536,
  maxNonSyncLiteralSize: 4096,
  maxCommandSize: 81920,
  maxLiterals: 64,
  maxDiscardSize: 1 << 20,
});

export type ReaderErrorCode =
  | 'LINE_TOO_LONG'
  | 'LITERAL_TOO_LARGE'
  | 'NONSYNC_LITERAL_TOO_LARGE'
  | 'COMMAND_TOO_LARGE'
  | 'TOO_MANY_LITERALS'
  | 'DISCARD_LIMIT';

/** A complete command: feed to parseCommand(line, literals). Literal data is cut out of `line`; its `{N}` markers stay. */
export interface CommandItem { readonly kind: 'command'; readonly line: Buffer; readonly literals: Buffer[] }
/** A synchronizing literal was accepted: write `+ Ready for literal data` now. */
export interface ContinuationItem { readonly kind: 'continuation'; readonly tag: string | undefined; readonly size: number }
/** The line requested with expectRawLine(), CRLF removed, not parsed. */
export interface RawLineItem { readonly kind: 'raw'; readonly line: Buffer }
/**
 * A limit was hit. Not fatal: answer `<tag> BAD` (`* BAD` without a tag; add
 * `[TOOBIG]` for the size codes); the reader already skips the rest of the
 * command. Fatal: answer `* BYE` and close; the reader ignores all further input.
 */
export interface ReaderError {
  readonly kind: 'error';
  readonly code: ReaderErrorCode;
  readonly message: string;
  readonly tag: string | undefined;
  readonly fatal: boolean;
}
export type ReaderItem = CommandItem | ContinuationItem | RawLineItem | ReaderError;
