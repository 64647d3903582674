import { describe, expect, it } from 'vitest';
import { capabilitiesFrom, ResponseFramingError, ResponseReader } from '../../../../src/imap/proxy/response-reader.js';

describe('ResponseReader', () => {
  it('frames responses one at a time and keeps the rest unread', () => {
    const r = new ResponseReader();
    r.push(Buffer.from('* OK [CAPABILITY IMAP4rev1 SASL-IR] ready\r\nD1 OK done\r\n* 2 EXI'));
    expect(r.next()).toEqual({ tag: '*', kind: 'OK', code: 'CAPABILITY IMAP4rev1 SASL-IR', text: 'ready' });
    expect(r.next()).toEqual({ tag: 'D1', kind: 'OK', code: null, text: 'done' });
    expect(r.next()).toBeNull();
    expect(r.rest().toString()).toBe('* 2 EXI');
  });

  it('waits for a whole line split anywhere, CR and LF included', () => {
    const r = new ResponseReader();
    for (const piece of ['D4 N', 'O [AUTHENTICATIONFAILED] no\r', '\n']) {
      expect(r.next()).toBeNull();
      r.push(Buffer.from(piece));
    }
    expect(r.next()).toEqual({ tag: 'D4', kind: 'NO', code: 'AUTHENTICATIONFAILED', text: 'no' });
  });

  it('carries literals (with CRLF inside) as part of one response', () => {
    const r = new ResponseReader();
    r.push(Buffer.from('* ID ("name" {5}\r\na\r\nbc "x" {3+}\r\n'));
    expect(r.next()).toBeNull();
    r.push(Buffer.from('xyz)\r\nD3 OK\r\n'));
    expect(r.next()).toMatchObject({ tag: '*', kind: 'ID' });
    expect(r.next()).toMatchObject({ tag: 'D3', kind: 'OK' });
    expect(r.buffered).toBe(0);
  });

  it('parses continuations and untagged data', () => {
    const r = new ResponseReader();
    r.push(Buffer.from('+ \r\n+\r\n* capability IMAP4rev1 IDLE\r\n'));
    expect(r.next()).toEqual({ tag: '+', kind: '+', code: null, text: '' });
    expect(r.next()).toEqual({ tag: '+', kind: '+', code: null, text: '' });
    expect(r.next()).toEqual({ tag: '*', kind: 'CAPABILITY', code: null, text: 'IMAP4rev1 IDLE' });
  });

  it('refuses endless lines and huge literals instead of buffering them', () => {
    const long = new ResponseReader(1024);
    long.push(Buffer.alloc(2000, 0x61));
    expect(() => long.next()).toThrow(ResponseFramingError);
    const literal = new ResponseReader(1024);
    literal.push(Buffer.from('* ID {99999999}\r\n'));
    expect(() => literal.next()).toThrow(ResponseFramingError);
    const empty = new ResponseReader();
    empty.push(Buffer.from('\r\n'));
    expect(() => empty.next()).toThrow(ResponseFramingError);
  });

  it('reads capability codes', () => {
    expect(capabilitiesFrom('CAPABILITY IMAP4rev1  IDLE')).toEqual(['IMAP4rev1', 'IDLE']);
    expect(capabilitiesFrom('ALERT')).toBeNull();
    expect(capabilitiesFrom(null)).toBeNull();
  });
});
