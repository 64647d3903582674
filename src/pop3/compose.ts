/**
 * The one place POP3 response bytes are made: `+OK`/`-ERR`, an optional
 * RFC 2449 response code, a text, and for multi-line answers the
 * dot-stuffed lines and the terminating ".". No handler can put a stray CR
 * or LF on the wire: texts are cleaned here.
 */
export interface Pop3Status {
  readonly ok: boolean;
  /** RFC 2449/3206 response code without brackets: AUTH, SYS/TEMP, SYS/PERM, IN-USE, LOGIN-DELAY. */
  readonly code?: string;
  readonly text: string;
}

const CRLF = '\r\n';
const CODE = /^[A-Z][A-Z0-9-]*(?:\/[A-Z0-9-]+)*$/;

export function composeStatus(status: Pop3Status): Buffer {
  let line = status.ok ? '+OK' : '-ERR';
  if (status.code !== undefined && CODE.test(status.code)) line += ` [${status.code}]`;
  const text = clean(status.text);
  if (text) line += ` ${text}`;
  return Buffer.from(line + CRLF, 'utf8');
}

/** A status line, then each line dot-stuffed (RFC 1939 §3), then ".". */
export function composeMultiline(status: Pop3Status, lines: readonly string[]): Buffer {
  const body = lines.map((l) => {
    const text = clean(l);
    return (text.startsWith('.') ? `.${text}` : text) + CRLF;
  });
  return Buffer.concat([composeStatus(status), Buffer.from(`${body.join('')}.${CRLF}`, 'utf8')]);
}

/** `+ challenge` for a SASL step (RFC 5034 §4): the challenge is already base64. */
export function composeContinuation(base64: string): Buffer {
  return Buffer.from(`+ ${clean(base64)}${CRLF}`, 'utf8');
}

function clean(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}
