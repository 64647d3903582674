import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, ConfigError, DEFAULT_CONFIG_FILE, loadConfigFile, parseConfigText } from '../../../src/config/load.js';
import { parseDuration } from '../../../src/config/duration.js';
import { ROOT } from '../../helpers/env.js';

describe('configuration', () => {
  it('the embedded default loads, keeps data under ./data at the checkout root, and is frozen', () => {
    const config = loadConfigFile(DEFAULT_CONFIG_FILE);
    expect(config.data_dir).toBe(path.join(ROOT, 'data'));
    expect(config.control.socket).toBe(path.join(ROOT, 'data', 'control.sock'));
    expect(config.hashing).toMatchObject({ memory_kib: 19456, iterations: 2, parallelism: 1 });
    expect(config.imap.listen).toEqual(['127.0.0.1:1143']);
    expect(config.dovecot_auth.listen).toEqual([path.join(ROOT, 'data', 'auth.sock')]);
    expect(Object.isFrozen(config.auth.trusted_networks)).toBe(true);
    expect(() => ((config.hashing as { iterations: number }).iterations = 1)).toThrow();
  });

  it('a relative data_dir is resolved against the config file\'s own folder, not its parent', () => {
    expect(buildConfig({ data_dir: 'devicepass' }, '/etc/devicepass.toml').data_dir).toBe('/etc/devicepass');
    expect(buildConfig({ data_dir: '../lib/devicepass' }, '/etc/devicepass/devicepass.toml').data_dir).toBe('/etc/lib/devicepass');
    expect(buildConfig({ data_dir: '/var/lib/devicepass' }, '/etc/devicepass.toml').data_dir).toBe('/var/lib/devicepass');
    expect(buildConfig({ data_dir: '/var/lib/devicepass', control: { socket: 'control.sock' } }, '/etc/devicepass.toml').control.socket).toBe(
      '/var/lib/devicepass/control.sock',
    );
  });

  it('an empty configuration gets every default', () => {
    const config = buildConfig({});
    expect(config.auth.tombstone_retention).toBe(30 * 86_400_000);
    expect(config.auth.failure_delay).toBe(2000);
    expect(config.smtp.upstream.xclient).toBe(true);
  });

  it('rejects unknown keys and bad values with the path of each problem', () => {
    expect(() => buildConfig({ hashing: { memory_kb: 1 } })).toThrow(/hashing/);
    expect(() => buildConfig({ nonsense: true })).toThrow(/nonsense|Unrecognized/);
    expect(() => buildConfig({ auth: { trusted_networks: ['10.0.0.0/33'] } })).toThrow(/auth\.trusted_networks/);
    expect(() => buildConfig({ imap: { listen: ['no port here'] } })).toThrow(/imap\.listen/);
    expect(() => buildConfig({ auth: { cache_ttl: 'soon' } })).toThrow(/not a duration/);
    expect(() => buildConfig({ imap: { upstream: { tls: 'maybe' } } })).toThrow(/imap\.upstream\.tls/);
  });

  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2s')).toBe(2000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration(5)).toBe(5000);
    expect(parseDuration('5 parsecs')).toBeNull();
    expect(parseDuration('')).toBeNull();
  });
});

/** Found by the TOML config fuzzer (test/helpers/fuzz/parser-targets.ts, config-toml). */
describe('configuration: a TOML syntax error', () => {
  it('names the file, line and column, and never quotes the lines around it (they may hold a secret)', () => {
    const text = 'data_dir = "data"\n[http]\nnginx_secret = "s3cr3t-token-value" [\nlisten = []\n';
    let message = '';
    try {
      parseConfigText(text, '/etc/devicepass.toml');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/^\/etc\/devicepass\.toml:3:\d+: Invalid TOML document: /);
    expect(message).not.toContain('s3cr3t-token-value');
    expect(message).not.toContain('\n');
  });
});
