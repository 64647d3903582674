/**
 * The one gate before any handler runs: splits the line into keyword and
 * arguments, finds the command in the table, checks the connection state
 * and the argument count, and prepares a loggable view of the arguments with
 * the sensitive ones masked.
 */
import { COMMANDS } from './commands/index.js';
import type { ArgSchema, CommandResult, CommandSpec, ConnectionState } from './commands/types.js';
import { REPLIES } from './replies.js';

export interface Dispatch {
  readonly key: string;
  readonly spec: CommandSpec;
  readonly args: readonly Buffer[];
}

const SPACE = 0x20;
/** Keywords are 3 or 4 characters (RFC 1939 §3); anything past this is no keyword of ours. */
const MAX_KEYWORD = 16;
/**
 * RFC 2449 §4: a command is at most 255 octets, CRLF included. The lines that
 * carry credentials are exempt: USER (an address may be 254 octets), PASS (a
 * password may be 1024 bytes) and AUTH with an initial response (base64 of
 * both). SASL answers to `+` never come here, and the framer's own limit
 * (connection.ts) bounds them all.
 */
export const MAX_COMMAND_OCTETS = 255;
const CRLF_OCTETS = 2;

function carriesCredentials(keyword: string, words: number): boolean {
  return keyword === 'USER' || keyword === 'PASS' || (keyword === 'AUTH' && words >= 2);
}

export function resolveCommand(line: Buffer, state: ConnectionState): Dispatch | (CommandResult & { readonly keyword: string }) {
  const space = line.indexOf(SPACE);
  const keywordBytes = space < 0 ? line : line.subarray(0, space);
  const keyword = keywordBytes.length <= MAX_KEYWORD ? keywordBytes.toString('latin1').toUpperCase() : '';
  const rest = space < 0 ? Buffer.alloc(0) : line.subarray(space + 1);
  const words = splitWords(rest);
  if (line.length + CRLF_OCTETS > MAX_COMMAND_OCTETS && !carriesCredentials(keyword, words.length)) return { ...REPLIES.commandTooLong, keyword };
  let key = keyword;
  let spec = COMMANDS.get(key);
  if (keyword === 'AUTH' && words.length > 0) {
    key = `AUTH ${words[0]!.toString('latin1').toUpperCase()}`;
    spec = COMMANDS.get(key);
    if (!spec) return { ...REPLIES.unsupportedMechanism, keyword };
  }
  if (!spec || !spec.state.includes(state)) return { ...REPLIES.unknownCommand, keyword };
  const args = spec.args.rest ? (rest.length > 0 ? [rest] : []) : words;
  const problem = checkArguments(spec.args, args.length);
  if (problem) return { ok: false, text: `${keyword}: ${problem}`, bad: true, keyword };
  return { key, spec, args };
}

/** Arguments are separated by single spaces (RFC 1939 §3); runs of them are tolerated. */
function splitWords(rest: Buffer): Buffer[] {
  const words: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= rest.length; i++) {
    if (i === rest.length || rest[i] === SPACE) {
      if (i > start) words.push(rest.subarray(start, i));
      start = i + 1;
    }
  }
  return words;
}

function checkArguments(schema: ArgSchema, count: number): string | null {
  if (count >= schema.min && count <= schema.max) return null;
  if (schema.max === 0) return 'takes no arguments';
  return schema.min === schema.max ? `expects ${schema.min} argument${schema.min === 1 ? '' : 's'}` : `expects ${schema.min} to ${schema.max} arguments`;
}

/** Arguments for the debug log: sensitive ones masked, long ones cut, never bytes that are not printable. */
export function loggableArguments(spec: CommandSpec, args: readonly Buffer[]): string[] {
  return args.map((arg, i) => {
    if (spec.args.sensitive?.includes(i)) return '[redacted]';
    const text = arg.toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    return text.length > 64 ? `${text.slice(0, 64)}…` : text;
  });
}
