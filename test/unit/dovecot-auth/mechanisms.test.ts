import { describe, expect, it } from 'vitest';
import { startMechanism } from '../../../src/dovecot-auth/mechanisms.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('SASL mechanisms', () => {
  it('PLAIN in one step', () => {
    expect(startMechanism('PLAIN').step(b64('\0alice@example.com\0secret pass'))).toEqual({
      kind: 'done', credentials: { authzid: '', user: 'alice@example.com', password: 'secret pass' },
    });
  });

  it('PLAIN with an empty first round asks once, then decodes', () => {
    const m = startMechanism('PLAIN');
    expect(m.step(null)).toEqual({ kind: 'challenge', base64: '' });
    expect(m.step(b64('admin\0alice\0pw'))).toMatchObject({ kind: 'done', credentials: { authzid: 'admin', user: 'alice', password: 'pw' } });
  });

  it.each([
    ['not base64!', 'invalid base64'],
    [b64('no-nul'), 'PLAIN response'],
    [b64('a\0b\0c\0d'), 'PLAIN response'],
  ])('PLAIN refuses %j', (payload, why) => {
    expect(startMechanism('PLAIN').step(payload)).toMatchObject({ kind: 'invalid', why: expect.stringContaining(why) });
  });

  it('LOGIN over two rounds', () => {
    const m = startMechanism('LOGIN');
    expect(m.step(null)).toEqual({ kind: 'challenge', base64: b64('Username:') });
    expect(m.step(b64('alice@example.com'))).toEqual({ kind: 'challenge', base64: b64('Password:') });
    expect(m.step(b64('pw'))).toEqual({ kind: 'done', credentials: { authzid: '', user: 'alice@example.com', password: 'pw' } });
  });

  it('LOGIN takes an initial response as the user name; an empty one as none', () => {
    const m = startMechanism('LOGIN');
    expect(m.step(b64('bob'))).toEqual({ kind: 'challenge', base64: b64('Password:') });
    expect(m.step(b64('x'))).toMatchObject({ kind: 'done', credentials: { user: 'bob', password: 'x' } });
    expect(startMechanism('LOGIN').step('')).toEqual({ kind: 'challenge', base64: b64('Username:') });
  });
});
