import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/env.js';

const DAEMON = path.join(ROOT, 'bin', 'devicepassd.js');

function daemon(args: string[]) {
  const run = spawnSync(process.execPath, [DAEMON, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('devicepassd --check-config', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir('dp-cc')));
  afterEach(() => tmp.cleanup());

  it('validates the embedded default, prints the effective configuration and starts nothing', () => {
    const run = daemon(['--check-config']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/config\/default\.toml: valid/);
    expect(run.stdout).toContain(`data_dir = ${JSON.stringify(path.join(ROOT, 'data'))}`);
    expect(run.stdout).toMatch(/cache_ttl = "1h"/);
  });

  it('resolves a relative data_dir against the file\'s folder and masks secrets', () => {
    const file = path.join(tmp.dir, 'devicepass.toml');
    writeFileSync(file, 'data_dir = "state"\n[imap.upstream]\nmaster_user = "proxy"\nmaster_password = "correct horse battery"\n');
    const run = daemon(['--config', file, '--check-config']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`data_dir = ${JSON.stringify(path.join(tmp.dir, 'state'))}`);
    expect(run.stdout).not.toContain('correct horse battery');
    expect(run.stdout).toContain('master_password = "********"');
    expect(existsSync(path.join(tmp.dir, 'state'))).toBe(false);
  });

  it('masks a store password in the URL\'s userinfo and in its query', () => {
    const file = path.join(tmp.dir, 'devicepass.toml');
    writeFileSync(file, `data_dir = "state"\n[store]\nurl = "postgres://dp:userinfo-s3cret@db.example/dp"\nfeed_url = "postgres://dp@db.example/dp?password=query-s3cret"\n`);
    const run = daemon(['--config', file, '--check-config']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/userinfo-s3cret|query-s3cret/);
    expect(run.stdout).toContain('url = "postgres://dp:***@db.example/dp"');
    expect(run.stdout).toContain('feed_url = "postgres://dp@db.example/dp?password=***"');
  });

  it('exits 2 with the key path of each problem, for the schema step and for the pre-start check alike', () => {
    const file = path.join(tmp.dir, 'bad.toml');
    writeFileSync(file, `data_dir = ${JSON.stringify(tmp.dir)}\n[auth]\ntrusted_networks = ["10.0.0.0/33"]\n`);
    const schema = daemon(['--check-config', '--config', file]);
    expect(schema.code).toBe(2);
    expect(schema.stderr).toMatch(/auth\.trusted_networks/);

    writeFileSync(file, `data_dir = ${JSON.stringify(tmp.dir)}\n[tls]\ncert = "missing.pem"\nkey = "missing.key"\n`);
    const tls = daemon(['--check-config', '--config', file]);
    expect(tls.code).toBe(2);
    expect(tls.stderr).toMatch(/tls\.cert: cannot read .*missing\.pem: ENOENT/);
    // the daemon itself refuses the same file the same way, before opening anything
    const start = daemon(['--config', file]);
    expect(start.code).toBe(2);
    expect(start.stderr).toMatch(/tls\.cert/);
    expect(existsSync(path.join(tmp.dir, 'devicepass.db'))).toBe(false);
  });

  it('exits 2 on a usage error', () => {
    expect(daemon(['--frobnicate']).code).toBe(2);
    expect(daemon(['--config']).code).toBe(2);
  });
});
