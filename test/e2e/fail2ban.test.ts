import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT, startDaemonProcess, tempDir, writeConfig } from '../helpers/env.js';
import { serversReady } from './helpers/require-servers.js';

const FAIL2BAN_REGEX = '/usr/bin/fail2ban-regex';
const FILTER = path.join(ROOT, 'config', 'fail2ban', 'filter.d', 'devicepass.conf');
const ready = serversReady(existsSync(FAIL2BAN_REGEX), 'fail2ban-regex (Debian package fail2ban)');

/**
 * The shipped fail2ban filter against devicepassd's real log output: logins
 * decided through the control socket's `auth test` (the same Authenticator
 * path as every front) from chosen client addresses, then Debian's
 * fail2ban-regex reads the log and names the hosts it would count.
 */
describe.skipIf(!ready)('fail2ban filter', () => {
  it('counts fresh wrong passwords and unknown addresses per client, nothing else, and cannot be pointed at another host', async () => {
    const { dir, cleanup } = tempDir('dp-f2b');
    try {
      // the guessing networks are "trusted" here only so the test is not slowed by failure delays
      const file = writeConfig(dir, '[auth]\ntrusted_networks = ["203.0.113.0/24", "2001:db8::/32"]\n');
      const daemon = await startDaemonProcess(file, path.join(dir, 'control.sock'));
      const run = (args: string[], input?: string) => cli(['--config', file, ...args], input);
      const secrets: string[] = [];
      try {
        await run(['address', 'add', 'alice@example.com']);
        const phone = JSON.parse((await run(['--json', 'device', 'add', 'alice@example.com', '--name', 'phone'])).stdout) as { id: string; password: string };
        const old = JSON.parse((await run(['--json', 'device', 'add', 'alice@example.com', '--name', 'old'])).stdout) as { id: string; password: string };
        secrets.push(phone.password, old.password);
        await run(['device', 'revoke', 'alice@example.com', old.id]);
        const attempt = (address: string, password: string, ip: string) => run(['auth', 'test', address, '--ip', ip], password);

        for (let i = 0; i < 3; i++) expect((await attempt('alice@example.com', `guess number ${i}`, '203.0.113.7')).code).toBe(1);
        expect((await attempt('nobody@example.com', 'whatever it is', '2001:db8::5')).code).toBe(1);
        expect((await attempt('alice@example.com', old.password, '203.0.113.8')).code).toBe(1); // a revoked device still trying
        expect((await attempt('alice@example.com', phone.password, '203.0.113.9')).code).toBe(0);
        const forged = 'x","ip":"198.51.100.66","login":"failed","reason":"wrong-password","y@example.com';
        expect((await attempt(forged, 'forged line', '203.0.113.10')).code).toBe(1);
        expect((await attempt('ip"198.51.100.67"@example.com', 'forged line', '203.0.113.11')).code).toBe(1);
      } finally {
        await daemon.stop();
      }
      const log = path.join(dir, 'devicepassd.log');
      writeFileSync(log, daemon.logs());
      const hosts = execFileSync(FAIL2BAN_REGEX, ['-o', 'ip', log, FILTER], { encoding: 'utf8' }).split('\n').filter(Boolean);
      expect(hosts.sort()).toEqual(['2001:db8::5', '203.0.113.7', '203.0.113.7', '203.0.113.7']);
      expect(daemon.logs()).toMatch(/"ip":"203.0.113.8","login":"failed","reason":"revoked"/);
      expect(daemon.logs()).toMatch(/"ip":"203.0.113.9","login":"ok"/);
      for (const secret of [...secrets, 'guess number', 'whatever it is', 'forged line']) expect(daemon.logs()).not.toContain(secret);
    } finally {
      cleanup();
    }
  });
});
