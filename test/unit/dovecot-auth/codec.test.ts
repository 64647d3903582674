import { describe, expect, it } from 'vitest';
import {
  formatFail,
  formatHandshake,
  formatLine,
  formatOk,
  LineSplitter,
  parseAuth,
  parseCont,
  parseLine,
  parseVersion,
  ProtocolError,
  tabEscape,
  tabUnescape,
} from '../../../src/dovecot-auth/codec.js';

describe('tab-escaping', () => {
  const table: Array<[string, string]> = [
    ['plain', 'plain'],
    ['', ''],
    ['a\tb', 'a\x01tb'],
    ['line\nbreak', 'line\x01nbreak'],
    ['cr\r', 'cr\x01r'],
    ['\x01', '\x011'],
    ['nul\x00', 'nul\x010'],
    ['\t\n\x01\r', '\x01t\x01n\x011\x01r'],
    ['ünïcödé ✓', 'ünïcödé ✓'],
  ];
  it.each(table)('escapes %j as %j and back', (raw, escaped) => {
    expect(tabEscape(raw)).toBe(escaped);
    expect(tabUnescape(escaped)).toBe(raw);
  });

  it.each([
    ['\x01x', 'x'], // an unknown escape writes the character itself
    ['end\x01', 'end'], // a trailing lone escape is dropped
    ['\x01\x01', '\x01'],
  ])('unescapes the odd input %j as %j', (input, output) => {
    expect(tabUnescape(input)).toBe(output);
  });
});

describe('lines', () => {
  it('parses a command and unescaped arguments', () => {
    expect(parseLine('AUTH\t1\tPLAIN\tservice=smtp\tresp=a\x01tb')).toEqual({ command: 'AUTH', args: ['1', 'PLAIN', 'service=smtp', 'resp=a\tb'] });
    expect(parseLine('DONE')).toEqual({ command: 'DONE', args: [] });
    expect(parseLine('')).toEqual({ command: '', args: [] });
  });

  it('formats escaped replies', () => {
    expect(formatLine('DONE')).toBe('DONE\n');
    expect(formatOk(7, 'alice@example.com')).toBe('OK\t7\tuser=alice@example.com\n');
    expect(formatFail(3, { user: 'evil\tname\n', reason: 'Authentication failed', temporary: false })).toBe('FAIL\t3\tuser=evil\x01tname\x01n\treason=Authentication failed\n');
    expect(formatFail(4, { reason: 'later', temporary: true })).toBe('FAIL\t4\tcode=temp_fail\ttemp\treason=later\n');
  });

  it('sends the full handshake in order, ending with DONE', () => {
    const text = formatHandshake({ mechanisms: ['PLAIN', 'LOGIN'], spid: 42, cuid: 1, cookie: 'ab'.repeat(16) });
    expect(text.split('\n')).toEqual(['VERSION\t1\t2', 'MECH\tPLAIN\tplaintext', 'MECH\tLOGIN\tplaintext', 'SPID\t42', 'CUID\t1', `COOKIE\t${'ab'.repeat(16)}`, 'DONE', '']);
  });
});

describe('requests', () => {
  it('parses AUTH with every known parameter and ignores unknown ones', () => {
    expect(parseAuth(['12', 'plain', 'service=smtp', 'nologin', 'lip=127.0.0.1', 'rip=192.0.2.7', 'secured', 'lport=587', 'no-penalty', 'resp=AGEAYg=='])).toEqual({
      id: 12, mechanism: 'PLAIN', service: 'smtp', rip: '192.0.2.7', lip: '127.0.0.1', secured: true, nologin: true, resp: 'AGEAYg==',
    });
    expect(parseAuth(['1', 'LOGIN', 'service=imap'])).toMatchObject({ resp: null, secured: false, rip: null });
    expect(parseAuth(['1', 'PLAIN', 'service=imap', 'resp='])).toMatchObject({ resp: '' });
  });

  it.each([
    [[]],
    [['x', 'PLAIN', 'service=smtp']],
    [['-1', 'PLAIN', 'service=smtp']],
    [['99999999999', 'PLAIN', 'service=smtp']],
    [['1']],
    [['1', 'PLAIN']],
    [['1', 'PLAIN', 'service=']],
  ])('refuses the malformed AUTH %j', (args) => {
    expect(() => parseAuth(args)).toThrow(ProtocolError);
  });

  it('parses CONT and VERSION', () => {
    expect(parseCont(['5', 'dXNlcg=='])).toEqual({ id: 5, data: 'dXNlcg==' });
    expect(parseCont(['5'])).toEqual({ id: 5, data: '' });
    expect(() => parseCont(['five'])).toThrow(ProtocolError);
    expect(parseVersion(['1', '0'])).toEqual({ major: 1, minor: 0 });
    expect(parseVersion(['1'])).toEqual({ major: 1, minor: 0 });
    expect(() => parseVersion(['one', '2'])).toThrow(ProtocolError);
    expect(() => parseVersion([])).toThrow(ProtocolError);
  });
});

describe('LineSplitter', () => {
  it('joins lines split across chunks and drops a CR before LF', () => {
    const s = new LineSplitter(100);
    expect(s.push(Buffer.from('VERS'))).toEqual([]);
    expect(s.push(Buffer.from('ION\t1\t2\r\nCPID\t1\nAU'))).toEqual(['VERSION\t1\t2', 'CPID\t1']);
    expect(s.push(Buffer.from('TH\n\n'))).toEqual(['AUTH', '']);
  });

  it('refuses a line over the cap, with or without its LF', () => {
    expect(() => new LineSplitter(10).push(Buffer.from('x'.repeat(11) + '\n'))).toThrow(ProtocolError);
    const s = new LineSplitter(10);
    s.push(Buffer.from('x'.repeat(6)));
    expect(() => s.push(Buffer.from('x'.repeat(6)))).toThrow(ProtocolError);
    expect(new LineSplitter(10).push(Buffer.from('x'.repeat(10) + '\n'))).toEqual(['x'.repeat(10)]);
  });

  it('decodes UTF-8 split across chunks', () => {
    const bytes = Buffer.from('user=ü\n');
    const s = new LineSplitter();
    expect([...s.push(bytes.subarray(0, 6)), ...s.push(bytes.subarray(6))]).toEqual(['user=ü']);
  });
});
