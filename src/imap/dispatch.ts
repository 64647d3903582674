/**
 * The one gate before any handler runs: finds the command in the table,
 * checks the connection state and the argument schema, and prepares a
 * loggable view of the arguments with the sensitive ones masked.
 */
import { COMMANDS } from './commands/index.js';
import type { ArgSpec, CommandResult, CommandSpec, ConnectionState } from './commands/types.js';
import { nodeText, type ImapNode, type ParsedCommand } from './parser/index.js';
import { REPLIES } from './replies.js';

export interface Dispatch {
  readonly key: string;
  readonly spec: CommandSpec;
}

export function resolveCommand(parsed: ParsedCommand, state: ConnectionState): Dispatch | CommandResult {
  let key = parsed.command;
  if (key === 'AUTHENTICATE') {
    const mechanism = parsed.attributes[0];
    if (mechanism?.type !== 'ATOM') return { response: 'BAD', message: 'AUTHENTICATE needs a mechanism name' };
    key = `AUTHENTICATE ${mechanism.value.toUpperCase()}`;
    if (!COMMANDS.has(key)) return REPLIES.unsupportedMechanism;
  }
  const spec = COMMANDS.get(key);
  if (!spec || !spec.state.includes(state)) return REPLIES.unknownCommand;
  const problem = checkArguments(spec.schema, parsed.attributes);
  if (problem) return { response: 'BAD', message: `${parsed.command}: ${problem}` };
  return { key, spec };
}

/** Counts and kinds, from the schema alone. */
export function checkArguments(schema: readonly ArgSpec[], args: readonly ImapNode[]): string | null {
  const required = schema.filter((a) => !a.optional).length;
  if (args.length < required || args.length > schema.length) {
    return required === schema.length
      ? `expects ${schema.length} argument${schema.length === 1 ? '' : 's'}`
      : `expects ${required} to ${schema.length} arguments`;
  }
  for (let i = 0; i < args.length; i++) {
    const spec = schema[i];
    const arg = args[i];
    if (spec && arg && !fits(spec, arg)) return `invalid ${spec.name}`;
  }
  return null;
}

function fits(spec: ArgSpec, node: ImapNode): boolean {
  switch (spec.kind) {
    case 'astring':
      return node.type === 'ATOM' || node.type === 'STRING' || node.type === 'LITERAL' || node.type === 'NIL';
    case 'atom':
      return node.type === 'ATOM';
    case 'list-or-nil':
      return node.type === 'LIST' || node.type === 'NIL';
  }
}

/** Arguments for the debug log: sensitive ones masked, long ones cut, lists summarized. */
export function loggableArguments(schema: readonly ArgSpec[], args: readonly ImapNode[]): string[] {
  return args.map((node, i) => {
    if (schema[i]?.sensitive) return '[redacted]';
    if (node.type === 'LIST') return `(${node.items.length} items)`;
    if (node.type === 'NIL') return 'NIL';
    const text = nodeText(node) ?? '[binary]';
    return text.length > 64 ? `${text.slice(0, 64)}…` : text;
  });
}
