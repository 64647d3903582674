/** Small accessors so command handlers need not switch on node types themselves. */
import type { ImapNode } from './parse-command.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes of an astring argument (LOGIN user and password, mechanism names).
 * The grammar makes an unquoted NIL the text "NIL" here; lists yield undefined.
 */
export function astringBytes(node: ImapNode | undefined): Buffer | undefined {
  switch (node?.type) {
    case 'ATOM':
      return Buffer.from(node.value, 'latin1');
    case 'STRING':
    case 'LITERAL':
      return node.value;
    case 'NIL':
      return Buffer.from('NIL', 'latin1');
    default:
      return undefined;
  }
}

/**
 * Text of an ATOM, STRING or LITERAL, for logging and ID fields. Undefined for
 * NIL, lists, and bytes that are not valid UTF-8 (never a lossy decode).
 */
export function nodeText(node: ImapNode | undefined): string | undefined {
  switch (node?.type) {
    case 'ATOM':
      return node.value;
    case 'STRING':
    case 'LITERAL':
      try {
        return utf8.decode(node.value);
      } catch {
        return undefined;
      }
    default:
      return undefined;
  }
}
