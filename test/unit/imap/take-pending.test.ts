import { describe, expect, it } from 'vitest';
import { CommandReader } from '../../../src/imap/parser/index.js';

/** The hand-off after login: what the client pipelined behind LOGIN goes to the upstream byte for byte. */
describe('CommandReader.takePending', () => {
  it('returns exactly the unread bytes after a command and leaves the reader empty', () => {
    const r = new CommandReader();
    r.push(Buffer.from('a LOGIN u {2+}\r\npw\r\nb SELECT INBOX\r\nc FETCH 1 (BODY[])\r\n\0\xff', 'latin1'));
    const first = r.read();
    expect(first).toMatchObject({ kind: 'command', literals: [Buffer.from('pw')] });
    expect(r.takePending().toString('latin1')).toBe('b SELECT INBOX\r\nc FETCH 1 (BODY[])\r\n\0\xff');
    expect(r.pendingBytes).toBe(0);
    expect(r.read()).toBeUndefined();
    r.push(Buffer.from('d NOOP\r\n'));
    expect(r.read()).toMatchObject({ kind: 'command', line: Buffer.from('d NOOP') });
  });

  it('refuses to split a command in the middle', () => {
    const r = new CommandReader();
    r.push(Buffer.from('a LOGIN {5}\r\nab'));
    expect(r.read()).toMatchObject({ kind: 'continuation' });
    expect(r.read()).toBeUndefined();
    expect(() => r.takePending()).toThrow(/middle of a command/);
  });
});
