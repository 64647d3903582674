import { describe, expect, it } from 'vitest';
import { ReplyError, ReplyReader, replyText } from '../../../src/smtp/reply.js';

describe('ReplyReader', () => {
  it('reads single and multi-line replies across arbitrary chunk boundaries', () => {
    const wire = '220 mx ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250 XCLIENT NAME ADDR LOGIN\r\n354 go\r\n';
    for (let cut = 0; cut <= wire.length; cut++) {
      const reader = new ReplyReader();
      const replies = [...reader.push(wire.slice(0, cut)), ...reader.push(wire.slice(cut))];
      expect(replies).toEqual([
        { code: 220, lines: ['mx ESMTP'] },
        { code: 250, lines: ['mx', 'PIPELINING', 'XCLIENT NAME ADDR LOGIN'] },
        { code: 354, lines: ['go'] },
      ]);
    }
  });

  it('accepts bare LF and a code with no text', () => {
    expect(new ReplyReader().push('250\n221 bye\n')).toEqual([{ code: 250, lines: [''] }, { code: 221, lines: ['bye'] }]);
  });

  it.each([
    ['not a reply', 'hello\r\n'],
    ['code out of range', '600 what\r\n'],
    ['code changes mid-reply', '250-a\r\n251 b\r\n'],
  ])('rejects %s', (_name, wire) => {
    expect(() => new ReplyReader().push(wire)).toThrow(ReplyError);
  });

  it('bounds line length and line count', () => {
    expect(() => new ReplyReader().push('250 ' + 'x'.repeat(5000))).toThrow(/too long/);
    expect(() => new ReplyReader().push('250-x\r\n'.repeat(300))).toThrow(/too many lines/);
  });

  it('joins multi-line text for the client', () => {
    expect(replyText({ code: 550, lines: ['5.1.1 first', 'second'] })).toBe('5.1.1 first second');
  });
});
