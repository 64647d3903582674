import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatHostPort, formatListen, parseCidr, parseListen } from '../../../src/net/address.js';

describe('listen addresses', () => {
  it('reads host:port, [v6]:port and socket paths, and refuses the rest', () => {
    expect(parseListen('127.0.0.1:143')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 143 });
    expect(parseListen('[::1]:993')).toEqual({ kind: 'tcp', host: '::1', port: 993 });
    expect(parseListen('auth.sock')).toEqual({ kind: 'unix', path: 'auth.sock' });
    expect(parseListen('/run/devicepass/auth')).toEqual({ kind: 'unix', path: '/run/devicepass/auth' });
    for (const bad of ['127.0.0.1:70000', '[not-v6]:1', '::1:143', 'localhost', '']) expect(parseListen(bad), bad).toBeNull();
  });

  it('writes what it reads back: an IPv6 host keeps its brackets', () => {
    expect(formatHostPort('::1', 143)).toBe('[::1]:143');
    expect(formatHostPort('mail.example.com', 25)).toBe('mail.example.com:25');
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 }), (host, port) => {
      const text = formatHostPort(host, port);
      const parsed = parseListen(text);
      expect(parsed).toEqual({ kind: 'tcp', host, port });
      expect(formatListen(parsed!)).toBe(text);
    }));
  });

  it('reads networks with and without a prefix', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', '10.0.0.0/8/1', 'example.com/8', '10.0.0.0/+8', '10.0.0.0/']) expect(parseCidr(bad), bad).toBeNull();
  });
});
