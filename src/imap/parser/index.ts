/**
 * IMAP command wire parsing for the pre-authentication front end.
 * Typical loop: reader.push(chunk); for (let i = reader.read(); i; i = reader.read()) { … parseCommand(i.line, i.literals) … }
 */

/** Frames socket bytes into commands, continuation prompts, raw lines and limit errors; bounded memory, never throws on input. */
export { CommandReader } from './line-reader.js';
/** Reader options, default limits and the item shapes read() returns. */
export {
  DEFAULT_READER_LIMITS,
  type LineReaderOptions, type ReaderLimits, type ReaderErrorCode,
  type ReaderItem, type CommandItem, type ContinuationItem, type RawLineItem, type ReaderError,
} from './reader-types.js';
/** Pure: (line, literals) → { tag, command, attributes } or { error, tag? }; never throws. */
export {
  parseCommand, isParseError, DEFAULT_MAX_DEPTH,
  type ParseResult, type ParsedCommand, type ParseError, type ParseOptions,
  type ImapNode, type AtomNode, type StringNode, type LiteralNode, type NilNode, type ListNode,
} from './parse-command.js';
/** Node accessors for command handlers (astring bytes, UTF-8 text). */
export { astringBytes, nodeText } from './nodes.js';
/** Decodes an AUTHENTICATE response line or SASL-IR argument: cancel, bytes, or error. */
export { decodeSaslResponse, type SaslResponse } from './sasl.js';
