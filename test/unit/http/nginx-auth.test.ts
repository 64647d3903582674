import { describe, expect, it } from 'vitest';
import type { LoginAttempt, LoginResult } from '../../../src/auth/types.js';
import { nginxAuth, type NginxAuthDeps } from '../../../src/http/nginx-auth.js';
import { silentLogger } from '../../../src/log/logger.js';

const SECRET = 's3cret-shared';

function deps(verdict: (a: LoginAttempt) => LoginResult, overrides: Partial<NginxAuthDeps> = {}) {
  const attempts: LoginAttempt[] = [];
  const d: NginxAuthDeps = {
    authenticate: async (a) => {
      attempts.push(a);
      return verdict(a);
    },
    isTrustedNetwork: () => false,
    log: silentLogger,
    secret: SECRET,
    upstreams: {
      imap: { host: '127.0.0.1', port: 10143, masterUser: 'master', masterPassword: 'mpw' },
      pop3: { host: '127.0.0.2', port: 10110, masterUser: 'pop-master', masterPassword: 'pop-mpw' },
      smtp: { host: '127.0.0.1', port: 10025 },
    },
    ...overrides,
  };
  return { d, attempts };
}

const ok = (a: LoginAttempt): LoginResult => ({ ok: true, address: a.address.toLowerCase(), deviceId: 1, deviceName: 'x', generic: false, cached: false });
const wrong = (): LoginResult => ({ ok: false, reason: 'wrong-password', temporary: false, address: null, deviceName: null, since: null, cached: false });
const busy = (): LoginResult => ({ ok: false, reason: 'busy', temporary: true, address: null, deviceName: null, since: null, cached: false });

function request(extra: Record<string, string> = {}) {
  return {
    'x-devicepass-secret': SECRET,
    'auth-method': 'plain',
    'auth-user': 'Alice%40example.com',
    'auth-pass': 'abcd%20efgh%25%2B',
    'auth-protocol': 'imap',
    'auth-login-attempt': '1',
    'client-ip': '192.0.2.5',
    'client-host': '[UNAVAILABLE]',
    ...extra,
  };
}

describe('nginx auth_http', () => {
  it('POP3 success: the configured POP3 upstream and its master-user login, not the IMAP one', async () => {
    const { d, attempts } = deps(ok);
    expect(await nginxAuth(request({ 'auth-protocol': 'pop3' }), d)).toEqual({
      status: 200,
      headers: { 'Auth-Status': 'OK', 'Auth-Server': '127.0.0.2', 'Auth-Port': '10110', 'Auth-User': 'alice@example.com*pop-master', 'Auth-Pass': 'pop-mpw' },
    });
    expect(attempts[0]?.protocol).toBe('pop3');
  });

  it('IMAP success: upstream server and the master-user login, credentials URL-decoded', async () => {
    const { d, attempts } = deps(ok);
    expect(await nginxAuth(request(), d)).toEqual({
      status: 200,
      headers: { 'Auth-Status': 'OK', 'Auth-Server': '127.0.0.1', 'Auth-Port': '10143', 'Auth-User': 'alice@example.com*master', 'Auth-Pass': 'mpw' },
    });
    expect(attempts[0]).toEqual({ address: 'Alice@example.com', password: 'abcd efgh%+', protocol: 'imap', clientIp: '192.0.2.5', trusted: false, clientName: null });
  });

  it('IMAP without a master user passes the address and the device password on', async () => {
    const { d } = deps(ok, { upstreams: { imap: { host: '127.0.0.1', port: 143, masterUser: '', masterPassword: '' }, pop3: { host: '127.0.0.1', port: 110, masterUser: '', masterPassword: '' }, smtp: { host: '127.0.0.1', port: 25 } } });
    expect((await nginxAuth(request(), d)).headers).toMatchObject({ 'Auth-User': 'alice@example.com', 'Auth-Pass': 'abcd efgh%+' });
  });

  it('SMTP success goes to the SMTP upstream, with no user or password override; HELO is the client name', async () => {
    const { d, attempts } = deps(ok);
    expect(await nginxAuth(request({ 'auth-protocol': 'smtp', 'auth-smtp-helo': 'printer.lan' }), d)).toEqual({
      status: 200,
      headers: { 'Auth-Status': 'OK', 'Auth-Server': '127.0.0.1', 'Auth-Port': '10025' },
    });
    expect(attempts[0]).toMatchObject({ protocol: 'smtp', clientName: 'printer.lan' });
  });

  it('resolves a host name upstream to an address, as nginx requires', async () => {
    const { d } = deps(ok, { upstreams: { imap: { host: 'localhost', port: 143, masterUser: 'm', masterPassword: 'p' }, pop3: { host: 'localhost', port: 110, masterUser: 'm', masterPassword: 'p' }, smtp: { host: 'localhost', port: 25 } } });
    expect((await nginxAuth(request(), d)).headers['Auth-Server']).toMatch(/^(127\.0\.0\.1|::1)$/);
  });

  it.each([
    [1, '1'],
    [2, '2'],
    [3, '4'],
    [4, undefined],
    [9, undefined],
  ])('a wrong password on attempt %i waits %s s (none: nginx closes)', async (attempt, wait) => {
    const { d } = deps(wrong);
    const reply = await nginxAuth(request({ 'auth-login-attempt': String(attempt) }), d);
    expect(reply.headers['Auth-Status']).toBe('Invalid login or password');
    expect(reply.headers['Auth-Wait']).toBe(wait);
    expect(reply.headers['Auth-Error-Code']).toBeUndefined();
  });

  it('SMTP failures carry the SMTP error code; temporary ones always a wait', async () => {
    expect((await nginxAuth(request({ 'auth-protocol': 'smtp' }), deps(wrong).d)).headers).toEqual({
      'Auth-Status': 'Invalid login or password', 'Auth-Wait': '1', 'Auth-Error-Code': '535 5.7.8',
    });
    expect((await nginxAuth(request({ 'auth-protocol': 'smtp', 'auth-login-attempt': '7' }), deps(busy).d)).headers).toEqual({
      'Auth-Status': 'Temporary authentication failure', 'Auth-Wait': '4', 'Auth-Error-Code': '454 4.7.0',
    });
  });

  it.each([
    ['no secret header', { 'x-devicepass-secret': '' }],
    ['a wrong secret', { 'x-devicepass-secret': 'guess' }],
    ['a secret that is a prefix', { 'x-devicepass-secret': SECRET.slice(0, -1) }],
  ])('refuses %s with 403 before looking at credentials', async (_n, extra) => {
    const { d, attempts } = deps(ok);
    expect(await nginxAuth(request(extra), d)).toEqual({ status: 403, headers: {} });
    expect(attempts).toHaveLength(0);
  });

  it('refuses everything when no secret is configured', async () => {
    const { d, attempts } = deps(ok, { secret: '' });
    expect((await nginxAuth(request({ 'x-devicepass-secret': '' }), d)).status).toBe(403);
    expect(attempts).toHaveLength(0);
  });

  it.each([
    ['APOP', { 'auth-method': 'apop' }],
    ['CRAM-MD5', { 'auth-method': 'cram-md5' }],
    ['an unknown protocol', { 'auth-protocol': 'xmpp' }],
    ['a broken URL escape', { 'auth-pass': '%E0%A4%A' }],
    ['no headers at all', { 'auth-method': '', 'auth-protocol': '', 'auth-user': '', 'auth-login-attempt': 'x' }],
  ])('answers %s with a plain failure without asking the Authenticator', async (_n, extra) => {
    const { d, attempts } = deps(ok);
    const reply = await nginxAuth(request(extra), d);
    expect(reply.status).toBe(200);
    expect(reply.headers['Auth-Status']).toBe('Invalid login or password');
    expect(attempts).toHaveLength(0);
  });

  it('an Authenticator that throws is a temporary failure', async () => {
    const { d } = deps(() => {
      throw new Error('boom');
    });
    expect((await nginxAuth(request(), d)).headers['Auth-Status']).toBe('Temporary authentication failure');
  });
});
