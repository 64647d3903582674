import { nodeText, type ImapNode } from '../parser/index.js';
import type { CommandResult, CommandSpec } from './types.js';

/** RFC 2971 3.3: at most 30 pairs, field names up to 30 octets, values up to 1024. */
const MAX_PAIRS = 30;
const MAX_FIELD = 30;
const MAX_VALUE = 1024;

/**
 * RFC 2971. The client's fields are kept for last use ("name version" becomes
 * the device's last client) and passed on to the upstream; we answer with
 * our own name and version.
 */
export const id: CommandSpec = {
  state: ['not-authenticated'],
  schema: [{ name: 'parameters', kind: 'list-or-nil' }],
  handler: (ctx, args) => {
    const fields = readFields(args[0]);
    if (typeof fields === 'string') return { response: 'BAD', message: fields } satisfies CommandResult;
    ctx.setClientId(fields);
    const ours = Object.entries(ctx.serverId()).flat();
    return { response: 'OK', message: 'ID completed', untagged: [{ name: 'ID', values: [ours] }] };
  },
};

/** The fields as text, null for `ID NIL`, or why the list is malformed. */
function readFields(node: ImapNode | undefined): Record<string, string> | null | string {
  if (node?.type !== 'LIST') return null;
  const items = node.items;
  if (items.length % 2 !== 0) return 'ID parameters must be field/value pairs';
  if (items.length / 2 > MAX_PAIRS) return `ID allows at most ${MAX_PAIRS} field/value pairs`;
  // no prototype: a client-chosen "__proto__" field must stay a plain key
  const fields = Object.create(null) as Record<string, string>;
  for (let i = 0; i < items.length; i += 2) {
    const key = items[i];
    const value = items[i + 1];
    if (key?.type !== 'STRING' && key?.type !== 'LITERAL') return 'ID field names must be strings';
    if (key.value.length > MAX_FIELD) return 'ID field name too long';
    if (value?.type === 'LIST') return 'ID values must be strings or NIL';
    if ((value?.type === 'STRING' || value?.type === 'LITERAL') && value.value.length > MAX_VALUE) return 'ID value too long';
    const name = nodeText(key)?.toLowerCase();
    const text = nodeText(value);
    // undecodable bytes are dropped, never guessed at: these end up in logs and the audit trail
    if (name !== undefined && text !== undefined && !Object.hasOwn(fields, name)) fields[name] = text;
  }
  return fields;
}
