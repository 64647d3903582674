import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';
import { stringify as toToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig, printableConfig } from '../../../src/config/check.js';
import { buildConfig, loadConfigFile } from '../../../src/config/load.js';
import { ROOT, tempDir } from '../../helpers/env.js';

const tmp = tempDir('dp-check');
let cert: string;
let key: string;
let otherKey: string;

beforeAll(async () => {
  const one = await generate([{ name: 'commonName', value: 'mail.example.com' }], { keyType: 'ec', curve: 'P-256' });
  const two = await generate([{ name: 'commonName', value: 'other.example.com' }], { keyType: 'ec', curve: 'P-256' });
  cert = path.join(tmp.dir, 'cert.pem');
  key = path.join(tmp.dir, 'key.pem');
  otherKey = path.join(tmp.dir, 'other-key.pem');
  writeFileSync(cert, one.cert);
  writeFileSync(key, one.private);
  writeFileSync(otherKey, two.private);
});
afterAll(() => tmp.cleanup());

const keys = (findings: Array<{ key: string }>) => findings.map((f) => f.key);

describe('the pre-start configuration check', () => {
  it('accepts the embedded default with no findings', () => {
    expect(checkConfig(buildConfig({}))).toEqual({ errors: [], warnings: [] });
  });

  it('refuses an Apple profile signing pair that is half set or not an RSA pair', () => {
    expect(keys(checkConfig(buildConfig({ web: { profile_signing_cert: cert } })).errors)).toEqual(['web.profile_signing_key']);
    const ec = checkConfig(buildConfig({ web: { profile_signing_cert: cert, profile_signing_key: key } })).errors;
    expect(ec).toEqual([{ key: 'web.profile_signing_key', message: expect.stringMatching(/RSA/) }]);
    expect(keys(checkConfig(buildConfig({ web: { profile_signing_cert: '/nonexistent/c.pem', profile_signing_key: key } })).errors))
      .toEqual(['web.profile_signing_cert']);
  });

  it('accepts a certificate with its own key', () => {
    expect(checkConfig(buildConfig({ tls: { cert, key } })).errors).toEqual([]);
  });

  it('names the key of an unreadable, unparsable or mismatched certificate', () => {
    expect(keys(checkConfig(buildConfig({ tls: { cert: '/nonexistent/cert.pem', key } })).errors)).toEqual(['tls.cert']);
    expect(checkConfig(buildConfig({ tls: { cert: '/nonexistent/cert.pem', key } })).errors[0]!.message).toMatch(/cannot read .*ENOENT/);
    expect(keys(checkConfig(buildConfig({ tls: { cert: key, key } })).errors)).toEqual(['tls.cert']);
    const mismatch = checkConfig(buildConfig({ tls: { cert, key: otherKey } })).errors;
    expect(mismatch).toEqual([{ key: 'tls.key', message: expect.stringMatching(/does not belong to the certificate/) }]);
    expect(keys(checkConfig(buildConfig({ tls: { cert, key: '' } })).errors)).toEqual(['tls.key']);
  });

  it('refuses a master password that would cross the network in plaintext, not one to loopback or over TLS', () => {
    const upstream = (host: string, tls: string) => buildConfig({ imap: { upstream: { host, tls, master_user: 'm', master_password: 'secret' } } });
    expect(keys(checkConfig(upstream('10.0.0.5', 'none')).errors)).toEqual(['imap.upstream.tls']);
    expect(checkConfig(upstream('127.0.0.1', 'none')).errors).toEqual([]);
    expect(checkConfig(upstream('mail.example.com', 'starttls')).errors).toEqual([]);
    expect(keys(checkConfig(buildConfig({ imap: { upstream: { master_user: 'm' } } })).errors)).toEqual(['imap.upstream.master_password']);
  });

  it('checks the POP3 master login the same way', () => {
    const upstream = (host: string, tls: string) => buildConfig({ pop3: { upstream: { host, tls, master_user: 'm', master_password: 'secret' } } });
    expect(keys(checkConfig(upstream('10.0.0.5', 'none')).errors)).toEqual(['pop3.upstream.tls']);
    expect(checkConfig(upstream('127.0.0.1', 'none')).errors).toEqual([]);
    expect(checkConfig(upstream('mail.example.com', 'implicit')).errors).toEqual([]);
    expect(keys(checkConfig(buildConfig({ pop3: { upstream: { master_user: 'm' } } })).errors)).toEqual(['pop3.upstream.master_password']);
  });

  it('warns when the development certificate would be shown on a public listener', () => {
    const check = checkConfig(buildConfig({ imap: { listen_tls: ['0.0.0.0:993'] } }));
    expect(check.errors).toEqual([]);
    expect(check.warnings).toEqual([{ key: 'tls.cert', message: expect.stringMatching(/development certificate .*0\.0\.0\.0:993/) }]);
  });

  it('names aliases that are not addresses', () => {
    const check = checkConfig(buildConfig({ smtp: { aliases: { 'alice@example.com': ['sales@example.com', 'not an address'], nobody: [] } } }));
    expect(keys(check.errors)).toEqual(['smtp.aliases.alice@example.com.1', 'smtp.aliases.nobody']);
  });

  it('the production example parses, and only its certificate paths (absent here) stop it', () => {
    const config = loadConfigFile(path.join(ROOT, 'config', 'production.example.toml'));
    expect(config.data_dir).toBe('/var/lib/devicepass');
    expect(config.imap.listen_tls).toContain('0.0.0.0:993');
    const check = checkConfig(config);
    expect(check.errors.every((f) => f.key === 'tls.cert' || f.key === 'tls.key')).toBe(true);
    const withTestCertificate = checkConfig(buildConfig({ ...printableConfig(config), tls: { cert, key } }));
    expect(withTestCertificate).toEqual({ errors: [], warnings: [] });
  });

  it('prints the effective configuration with durations as text and secrets masked', () => {
    const config = buildConfig({ auth: { cache_ttl: '90m' }, imap: { upstream: { master_user: 'm', master_password: 'hunter2hunter2' } }, http: { nginx_secret: 's3cr3t' } });
    const printed = printableConfig(config);
    expect(JSON.stringify(printed)).not.toMatch(/hunter2|s3cr3t/);
    expect(printed).toMatchObject({ auth: { cache_ttl: '90m', failure_delay: '2s' }, imap: { upstream: { master_user: 'm', master_password: '********' } } });
    // what is printed reads back as the same configuration
    const file = path.join(tmp.dir, 'printed.toml');
    const { data_dir, ...rest } = printableConfig(buildConfig({ auth: { cache_ttl: '90m' } }));
    writeFileSync(file, `data_dir = ${JSON.stringify(data_dir)}\n` + toToml(rest));
    expect(loadConfigFile(file).auth).toEqual(buildConfig({ auth: { cache_ttl: '90m' } }).auth);
  });

  it('prints the store URLs with their password masked, whether in the userinfo or in the query', () => {
    const config = buildConfig({
      store: {
        url: 'postgres://dp:userinfo-s3cret@db.example:5432/devicepass?sslmode=require',
        feed_url: 'postgres://dp@db.example:5432/devicepass?password=query-s3cret&application_name=feed',
      },
    });
    const printed = printableConfig(config) as { store: { url: string; feed_url: string } };
    expect(JSON.stringify(printed)).not.toMatch(/userinfo-s3cret|query-s3cret/);
    // what else the URLs say is still shown: an operator checks the host, the database and the options
    expect(new URL(printed.store.url)).toMatchObject({ username: 'dp', host: 'db.example:5432', pathname: '/devicepass', search: '?sslmode=require' });
    const feed = new URL(printed.store.feed_url);
    expect(feed.searchParams.get('application_name')).toBe('feed');
    expect(feed.searchParams.get('password')).not.toBe('');
  });
});

