import { describe, expect, it } from 'vitest';
import { composeContinuation, composeMultiline, composeStatus } from '../../../src/pop3/compose.js';

describe('POP3 compose', () => {
  it('writes +OK / -ERR with a response code and text', () => {
    expect(composeStatus({ ok: true, text: 'Logged in.' }).toString()).toBe('+OK Logged in.\r\n');
    expect(composeStatus({ ok: false, code: 'SYS/PERM', text: 'Session revoked' }).toString()).toBe('-ERR [SYS/PERM] Session revoked\r\n');
    expect(composeStatus({ ok: true, text: '' }).toString()).toBe('+OK\r\n');
  });

  it('never lets a CR, LF or bracket-breaking code onto the wire', () => {
    expect(composeStatus({ ok: false, text: 'a\r\n+OK injected' }).toString()).toBe('-ERR a +OK injected\r\n');
    expect(composeStatus({ ok: false, code: 'AUTH] x [', text: 't' }).toString()).toBe('-ERR t\r\n');
  });

  it('dot-stuffs multi-line answers and ends them with "."', () => {
    expect(composeMultiline({ ok: true, text: 'list' }, ['PLAIN', '.hidden', '..']).toString()).toBe('+OK list\r\nPLAIN\r\n..hidden\r\n...\r\n.\r\n');
    expect(composeMultiline({ ok: true, text: 'none' }, []).toString()).toBe('+OK none\r\n.\r\n');
  });

  it('writes SASL challenges as "+ " and the base64', () => {
    expect(composeContinuation('').toString()).toBe('+ \r\n');
    expect(composeContinuation('VXNlcm5hbWU6').toString()).toBe('+ VXNlcm5hbWU6\r\n');
  });
});
