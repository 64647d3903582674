import { describe, expect, it } from 'vitest';
import { InputError, parseInput } from '../../../src/checkpassword/fd3.js';
import { parseArgs } from '../../../src/checkpassword/main.js';

describe('checkpassword fd 3 input', () => {
  it.each([
    ['alice@example.com\0pw pw\0', { user: 'alice@example.com', password: 'pw pw' }],
    ['alice@example.com\0pw\x00123456\0extra\0', { user: 'alice@example.com', password: 'pw' }],
    ['alice@example.com\0\0', { user: 'alice@example.com', password: '' }],
    ['alice@example.com\0', { user: 'alice@example.com', password: '' }],
    ['ü@example.com\0pässword\0', { user: 'ü@example.com', password: 'pässword' }],
  ])('parses %j', (input, expected) => {
    expect(parseInput(Buffer.from(input))).toEqual(expected);
  });

  it.each([[''], ['no-nul-at-all'], ['\0pw\0'], ['user\0password-without-terminator']])('refuses %j', (input) => {
    expect(() => parseInput(Buffer.from(input))).toThrow(InputError);
  });
});

describe('checkpassword arguments', () => {
  it.each([
    [['/usr/lib/dovecot/checkpassword-reply'], { program: ['/usr/lib/dovecot/checkpassword-reply'] }],
    [['--socket', '/run/a.sock', 'reply', '--socket'], { socket: '/run/a.sock', program: ['reply', '--socket'] }],
    [['--config=/etc/dp.toml', '--', '--odd-program'], { config: '/etc/dp.toml', program: ['--odd-program'] }],
    [[], { program: [] }],
  ])('parses %j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });

  it('refuses an option without a value', () => {
    expect(() => parseArgs(['--socket'])).toThrow(InputError);
  });
});
