import { describe, expect, it } from 'vitest';
import { idArguments } from '../../../../src/imap/proxy/id-fields.js';
import type { UpstreamLogin } from '../../../../src/imap/proxy/upstream.js';

const login = (over: Partial<UpstreamLogin> = {}): UpstreamLogin => ({
  address: 'alice@example.com', clientIp: '203.0.113.7', clientPort: 50123, localIp: '127.0.0.1', localPort: 993, clientId: null, sessionId: 'abc', ...over,
});

describe('idArguments', () => {
  it('names the real client and the session for Dovecot', () => {
    expect(idArguments(login())).toBe(
      '("x-originating-ip" "203.0.113.7" "x-originating-port" "50123" "x-connected-ip" "127.0.0.1" "x-connected-port" "993" "x-session-ext-id" "abc")',
    );
  });

  it('unmaps IPv4-mapped IPv6 addresses and keeps real IPv6 ones', () => {
    expect(idArguments(login({ clientIp: '::ffff:198.51.100.4', localIp: '::1' }))).toContain('"x-originating-ip" "198.51.100.4" "x-originating-port" "50123" "x-connected-ip" "::1"');
  });

  it("forwards the client's standard fields, escaped, and never its x- fields", () => {
    const text = idArguments(login({ clientId: { name: 'Mail "Pro"', Version: '1\\2', 'x-originating-ip': '6.6.6.6', 'X-Forward-Foo': 'bar', colour: 'blue' } }));
    expect(text).toContain('"name" "Mail \\"Pro\\""');
    expect(text).toContain('"version" "1\\\\2"');
    expect(text).not.toContain('6.6.6.6');
    expect(text.toLowerCase()).not.toContain('forward');
    expect(text).not.toContain('colour');
  });

  it('leaves out values a quoted string cannot carry, over-long values and over-long session ids', () => {
    expect(idArguments(login({ clientId: { name: 'a\r\nb', os: 'Linux\0', vendor: 'Müller', version: 'x'.repeat(1025) } }))).not.toMatch(/"name"|"os"|"vendor"|"version"/);
    expect(idArguments(login({ sessionId: 's'.repeat(65) }))).not.toContain('x-session-ext-id');
  });
});
