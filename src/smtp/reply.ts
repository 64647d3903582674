/** One SMTP reply: the code and the text of each line (without "250-" / "250 "). */
export interface SmtpReply {
  code: number;
  lines: string[];
}

/** The reply as one line of text, as a front hands it on to its own client (multi-line replies joined by spaces). */
export function replyText(reply: SmtpReply): string {
  return reply.lines.join(' ').trim();
}

export function isPositive(reply: SmtpReply): boolean {
  return reply.code >= 200 && reply.code < 400;
}

/** A server cannot make us buffer without bound: longer lines or replies are a protocol error. */
const MAX_LINE = 4096;
const MAX_LINES = 256;

export class ReplyError extends Error {
  override name = 'ReplyError';
}

/**
 * Turns the bytes an SMTP server sends into replies (RFC 5321 4.2: "250-" continues,
 * "250 " ends). Pure and incremental so it can be fed socket chunks of any size.
 */
export class ReplyReader {
  #partial = '';
  #lines: string[] = [];
  #code = 0;

  /** Feeds a chunk; returns the replies it completed. Throws ReplyError on garbage. */
  push(chunk: string): SmtpReply[] {
    const done: SmtpReply[] = [];
    let text = this.#partial + chunk;
    let newline: number;
    while ((newline = text.indexOf('\n')) !== -1) {
      const line = text.slice(0, newline).replace(/\r$/, '');
      text = text.slice(newline + 1);
      const reply = this.#line(line);
      if (reply) done.push(reply);
    }
    if (text.length > MAX_LINE) throw new ReplyError('reply line too long');
    this.#partial = text;
    return done;
  }

  #line(line: string): SmtpReply | null {
    const match = /^([2-5]\d\d)([ -]|$)(.*)$/.exec(line);
    if (!match) throw new ReplyError(`not an SMTP reply: ${JSON.stringify(line.slice(0, 80))}`);
    const code = Number(match[1]);
    if (this.#lines.length > 0 && code !== this.#code) throw new ReplyError('reply code changed within a multi-line reply');
    if (this.#lines.length >= MAX_LINES) throw new ReplyError('reply has too many lines');
    this.#code = code;
    this.#lines.push(match[3] ?? '');
    if (match[2] === '-') return null;
    const reply = { code, lines: this.#lines };
    this.#lines = [];
    return reply;
  }
}
