import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';
import { ALICE, formSecrets, startWebEnv, type WebEnv } from '../helpers/web-env.js';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/** Python's plistlib, a parser independent of the library that wrote the profile; dates come back as ISO text. */
function parsePlist(bytes: Buffer): Record<string, unknown> {
  const script = `import plistlib, sys, json, datetime
data = plistlib.loads(sys.stdin.buffer.read())
print(json.dumps(data, default=lambda v: v.replace(tzinfo=datetime.timezone.utc).isoformat() if isinstance(v, datetime.datetime) else str(v)))`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: bytes }).toString()) as Record<string, unknown>;
}

async function setUpApple(env: WebEnv, token: string, name = 'iPhone'): Promise<{ page: string; link: string; password: string }> {
  const first = await env.request('GET', `/invite/${token}`);
  const secrets = formSecrets(first);
  const done = await env.request('POST', `/invite/${token}`, {
    headers: { ...FORM, Cookie: secrets.cookie },
    body: new URLSearchParams({ csrf: secrets.csrf, name, client: 'apple', password_mode: 'generate' }).toString(),
  });
  expect(done.status).toBe(200);
  const link = /href="([^"]+\.mobileconfig)" id="profile-link"/.exec(done.text)?.[1];
  if (!link) throw new Error('no profile link on the page');
  const password = [...(/<p class="password"[^>]*>(.*?)<\/p>/s.exec(done.text)?.[1] ?? '').matchAll(/<span>([^<]*)<\/span>/g)].map((m) => m[1]).join('');
  return { page: done.text, link, password };
}

describe('Apple configuration profiles', () => {
  let env: WebEnv;

  beforeAll(async () => {
    env = await startWebEnv({ web: { imap: { port: 1993 } } });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('offers a one-time download with a QR code; the profile carries IMAP and SMTP with the one password', async () => {
    const { page, link, password } = await setUpApple(env, await env.invite({ name: 'iPhone', expires: '90d' }));
    expect(link.startsWith(`${env.base}/profile/`)).toBe(true);
    expect(page).toMatch(/<svg role="img" aria-label="QR code that opens the profile download"[^>]*viewBox/);
    expect(page).toContain('the same password goes in both');

    const download = await env.request('GET', new URL(link).pathname);
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toBe('application/x-apple-aspen-config');
    expect(download.headers['cache-control']).toBe('no-store');
    const profile = parsePlist(download.body);
    expect(profile).toMatchObject({ PayloadType: 'Configuration', PayloadVersion: 1, PayloadIdentifier: expect.stringMatching(/^1\.0\.0\.127\.devicepass\.device\.\d+$/) });
    const device = (await env.daemon.admin.listDevices(ALICE)).find((d) => d.name === 'iPhone')!;
    expect(profile.PayloadIdentifier).toBe(`1.0.0.127.devicepass.device.${device.id}`);
    expect(Date.parse(profile.RemovalDate as string)).toBe(Math.floor(Date.parse(device.expires!) / 1000) * 1000);
    const [mail] = profile.PayloadContent as Array<Record<string, unknown>>;
    expect(mail).toMatchObject({
      PayloadType: 'com.apple.mail.managed',
      EmailAccountType: 'EmailTypeIMAP',
      EmailAddress: ALICE,
      IncomingMailServerHostName: '127.0.0.1',
      IncomingMailServerPortNumber: 1993,
      IncomingMailServerUseSSL: true,
      IncomingMailServerUsername: ALICE,
      IncomingPassword: password,
      OutgoingMailServerUsername: ALICE,
      OutgoingPassword: password,
      OutgoingPasswordSameAsIncomingPassword: true,
    });

    const second = await env.request('GET', new URL(link).pathname);
    expect(second.status).toBe(410);
    expect(second.headers['content-type']).toContain('text/html');
    expect(env.logs.join('\n')).not.toContain(new URL(link).pathname);
  });

  it('uses POP3 for a device without imap, and leaves RemovalDate out when the device does not expire', async () => {
    const { link } = await setUpApple(env, await env.invite({ scopes: 'pop3,smtp' }), 'Old iPad');
    const profile = parsePlist((await env.request('GET', new URL(link).pathname)).body);
    expect(profile.RemovalDate).toBeUndefined();
    const [mail] = profile.PayloadContent as Array<Record<string, unknown>>;
    expect(mail).toMatchObject({ EmailAccountType: 'EmailTypePOP', IncomingMailServerPortNumber: 995 });
  });

  it('offers no profile to a device that cannot send', async () => {
    const token = await env.invite({ scopes: 'imap' });
    const secrets = formSecrets(await env.request('GET', `/invite/${token}`));
    const done = await env.request('POST', `/invite/${token}`, {
      headers: { ...FORM, Cookie: secrets.cookie },
      body: new URLSearchParams({ csrf: secrets.csrf, name: 'Reader', client: 'apple' }).toString(),
    });
    expect(done.status).toBe(200);
    expect(done.text).not.toContain('mobileconfig');
    expect(done.text).not.toContain('Outgoing mail');
  });
});

describe('signed Apple configuration profiles', () => {
  let env: WebEnv;
  let certFile: string;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir('dps');
    cleanup = tmp.cleanup;
    certFile = path.join(tmp.dir, 'signer.crt');
    const keyFile = path.join(tmp.dir, 'signer.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=devicepass profile signer', '-days', '2',
      '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    env = await startWebEnv({ web: { profile_signing_cert: certFile, profile_signing_key: keyFile } });
  });
  afterAll(async () => {
    await env?.stop();
    cleanup();
  });

  it('signs the profile as CMS SignedData that openssl verifies against the signing certificate', async () => {
    const { link, password } = await setUpApple(env, await env.invite());
    const download = await env.request('GET', new URL(link).pathname);
    expect(download.status).toBe(200);
    const signed = path.join(env.dir, 'signed.mobileconfig');
    writeFileSync(signed, download.body);
    const content = path.join(env.dir, 'content.plist');
    execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', signed, '-CAfile', certFile, '-purpose', 'any', '-out', content], { stdio: 'pipe' });
    const profile = parsePlist(readFileSync(content));
    expect((profile.PayloadContent as Array<Record<string, unknown>>)[0]!.IncomingPassword).toBe(password);

    // a flipped byte inside the signed content fails verification
    const tampered = Buffer.from(download.body);
    const at = tampered.indexOf(Buffer.from('EmailAddress'));
    tampered[at] = 'e'.charCodeAt(0);
    writeFileSync(signed, tampered);
    expect(() => execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', signed, '-CAfile', certFile, '-purpose', 'any', '-out', content], { stdio: 'pipe' })).toThrow();
  });
});
