import { describe, expect, it } from 'vitest';
import { proxyAllowList } from '../../../src/smtp/proxy-allow-list.js';
import { SenderPolicy } from '../../../src/smtp/sender-policy.js';
import { encodeXtext } from '../../../src/smtp/xtext.js';

describe('SenderPolicy', () => {
  const strict = new SenderPolicy('strict', { 'Alice@Example.com': ['Sales@example.com', 'info@example.com'] });

  it.each([
    ['alice@example.com', 'alice@example.com', true],
    ['alice@example.com', 'ALICE@EXAMPLE.COM', true],
    ['alice@example.com', 'sales@EXAMPLE.com', true],
    ['alice@example.com', 'bob@example.com', false],
    ['alice@example.com', '', false],
    ['alice@example.com', 'not an address', false],
    ['bob@example.com', 'sales@example.com', false],
  ])('strict: %s sending as %j → %s', (login, from, allowed) => {
    expect(strict.allows(login, from)).toBe(allowed);
  });

  it('off allows any sender', () => {
    expect(new SenderPolicy('off', {}).allows('alice@example.com', 'anyone@example.org')).toBe(true);
  });

  it('refuses a malformed alias table at start', () => {
    expect(() => new SenderPolicy('strict', { 'not-an-address': [] })).toThrow(/aliases/);
    expect(() => new SenderPolicy('strict', { 'a@example.com': ['nope'] })).toThrow(/aliases/);
  });
});

describe('proxyAllowList', () => {
  it('is off without trusted proxies', () => {
    expect(proxyAllowList([])).toBe(false);
  });

  it('expands small networks to the addresses smtp-server compares', () => {
    expect(proxyAllowList(['10.0.0.1'])).toEqual(['10.0.0.1']);
    expect(proxyAllowList(['192.0.2.5/30'])).toEqual(['192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7']);
    expect(proxyAllowList(['2001:db8::1/127'])).toEqual(['2001:db8:0:0:0:0:0:0', '2001:db8:0:0:0:0:0:1']);
    expect(proxyAllowList(['::ffff:10.0.0.1/128'])).toEqual(['0:0:0:0:0:ffff:a00:1']);
    expect(proxyAllowList(['10.1.0.0/22'])).toHaveLength(1024);
  });

  it('refuses networks too wide to list', () => {
    expect(() => proxyAllowList(['10.0.0.0/8'])).toThrow(/wider than/);
    expect(() => proxyAllowList(['2001:db8::/64'])).toThrow(/wider than/);
  });
});

describe('encodeXtext', () => {
  it.each([
    ['alice@example.com', 'alice@example.com'],
    ['a+b=c', 'a+2Bb+3Dc'],
    ['two words', 'two+20words'],
    ['evil\r\nRCPT TO:<x>', 'evil+0D+0ARCPT+20TO:<x>'],
    ['ü', '+C3+BC'],
    ['[UNAVAILABLE]', '[UNAVAILABLE]'],
  ])('%j → %j', (input, expected) => {
    expect(encodeXtext(input)).toBe(expected);
  });
});
