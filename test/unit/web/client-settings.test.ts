import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../../src/config/load.js';
import { clientSettings } from '../../../src/web/client-settings.js';
import { ProfileSigner } from '../../../src/web/profile.js';
import { tempDir } from '../../helpers/env.js';

describe('client settings', () => {
  it('default to the daemon’s own listeners on the host of public_url, implicit TLS first', () => {
    const settings = clientSettings(buildConfig({ web: { public_url: 'https://mail.example.com:8443' } }));
    expect(settings.imap).toEqual({ protocol: 'imap', host: 'mail.example.com', port: 1993, security: 'tls' });
    expect(settings.smtp).toEqual({ protocol: 'smtp', host: 'mail.example.com', port: 1465, security: 'tls' });
    expect(settings.pop3).toEqual({ protocol: 'pop3', host: 'mail.example.com', port: 1995, security: 'tls' });
  });

  it('fall back to the standard POP3 port when the POP3 front is off and [web.pop3] names none', () => {
    const settings = clientSettings(buildConfig({ pop3: { listen: [], listen_tls: [] }, web: { pop3: { host: 'pop.example.com' } } }));
    expect(settings.pop3).toMatchObject({ host: 'pop.example.com', port: 995, security: 'tls' });
  });

  it('follow [web.*] where set, and a STARTTLS listener when there is no TLS one', () => {
    const settings = clientSettings(buildConfig({
      imap: { listen: ['0.0.0.0:143'], listen_tls: [] },
      web: { imap: { host: 'imap.example.com' }, smtp: { port: 587, security: 'starttls' } },
    }));
    expect(settings.imap).toEqual({ protocol: 'imap', host: 'imap.example.com', port: 143, security: 'starttls' });
    expect(settings.smtp).toEqual({ protocol: 'smtp', host: 'localhost', port: 587, security: 'starttls' });
  });
});

describe('ProfileSigner', () => {
  it('refuses a key that is not RSA or does not belong to the certificate', () => {
    const { dir, cleanup } = tempDir();
    try {
      const make = (name: string, type: string[]) => {
        execFileSync('openssl', ['req', '-x509', ...type, '-nodes', '-subj', `/CN=${name}`, '-days', '1',
          '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`)], { stdio: 'ignore' });
        return { cert: readFileSync(path.join(dir, `${name}.crt`), 'utf8'), key: readFileSync(path.join(dir, `${name}.key`), 'utf8') };
      };
      const a = make('a', ['-newkey', 'rsa:2048']);
      const b = make('b', ['-newkey', 'rsa:2048']);
      const ec = make('ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
      expect(() => new ProfileSigner(a.cert, a.key)).not.toThrow();
      expect(() => new ProfileSigner(a.cert, b.key)).toThrow(/does not belong/);
      expect(() => new ProfileSigner(a.cert, ec.key)).toThrow(/RSA/);
      expect(() => new ProfileSigner('not a certificate', a.key)).toThrow(/no PEM certificate/);
    } finally {
      cleanup();
    }
  });
});
