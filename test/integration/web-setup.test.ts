import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon } from '../../src/cli/client.js';
import { ALICE, formSecrets, startWebEnv, type WebEnv, type WebResponse } from '../helpers/web-env.js';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/** The password as the page shows it: the groups of four, joined. */
function passwordOf(page: WebResponse): string {
  const block = /<p class="password" id="device-password"[^>]*>(.*?)<\/p>/s.exec(page.text)?.[1];
  if (!block) throw new Error('no password on the page');
  return [...block.matchAll(/<span>([^<]*)<\/span>/g)].map((m) => m[1]).join('');
}

describe('the setup page', () => {
  let env: WebEnv;

  beforeAll(async () => {
    // no trusted networks: loopback is throttled like any client here
    env = await startWebEnv({ auth: { trusted_networks: [], failure_delay: '10ms', failure_delay_max: '20ms' } });
  });
  afterAll(async () => {
    await env?.stop();
  });

  const open = async (token: string) => {
    const page = await env.request('GET', `/invite/${token}`);
    expect(page.status).toBe(200);
    return page;
  };
  const submit = (token: string, fields: Record<string, string>, secrets: { csrf: string; cookie: string }, headers: Record<string, string> = {}) =>
    env.request('POST', `/invite/${token}`, {
      headers: { ...FORM, Cookie: secrets.cookie, ...headers },
      body: new URLSearchParams({ csrf: secrets.csrf, ...fields }).toString(),
    });

  it('shows a form prefilled from the invitation, with strict headers and a CSRF cookie', async () => {
    const token = await env.invite({ name: 'Work iPhone' });
    const page = await open(token);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).not.toContain('script-src');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(String(page.headers['set-cookie'])).toMatch(/^__Host-devicepass-csrf=[A-Za-z0-9_-]{32}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    expect(page.text).toContain(`Set up a device for ${ALICE}`);
    expect(page.text).toContain('value="Work iPhone"');
    expect(page.text).not.toContain('<script');
    for (const id of ['name', 'password']) expect(page.text).toContain(`<label for="${id}">`);
    const css = await env.request('GET', '/assets/style.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toContain('text/css');
  });

  it('refuses a form without the CSRF cookie or from another origin, and creates nothing', async () => {
    const token = await env.invite();
    const secrets = formSecrets(await open(token));
    expect((await submit(token, { name: 'x' }, { ...secrets, cookie: '' })).status).toBe(403);
    expect((await submit(token, { name: 'x' }, { ...secrets, csrf: 'A'.repeat(32) })).status).toBe(403);
    expect((await submit(token, { name: 'x' }, secrets, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await submit(token, { name: 'x' }, secrets, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await env.daemon.admin.listDevices(ALICE)).filter((d) => d.name === 'x')).toEqual([]);
    expect((await env.daemon.invitations.lookup(token)).status).toBe('open');
  });

  it('creates the device once, shows its password with the settings, and the password logs in', async () => {
    const token = await env.invite({ name: 'Laptop', scopes: 'imap,smtp' });
    const secrets = formSecrets(await open(token));
    const done = await submit(token, { name: 'Laptop', client: 'thunderbird', password_mode: 'generate' }, secrets, { Origin: env.base });
    expect(done.status).toBe(200);
    expect(done.headers['cache-control']).toBe('no-store');
    expect(done.headers['referrer-policy']).toBe('no-referrer');
    const password = passwordOf(done);
    expect(password).toMatch(/^[a-z]{24}$/);
    expect(done.text).toContain('<td>IMAP</td>');
    expect(done.text).toContain('<td>SMTP</td>');
    expect(done.text).toContain(`<td>${ALICE}</td>`);
    expect(done.text).toContain('<td>127.0.0.1</td>');
    const login = await env.daemon.authenticator.authenticate({ address: ALICE, password, protocol: 'imap', clientIp: '127.0.0.1', trusted: true, clientName: 'test' });
    expect(login).toMatchObject({ ok: true, deviceName: 'Laptop' });

    const again = await env.request('GET', `/invite/${token}`);
    expect(again.status).toBe(410);
    expect(again.text).toContain('already used');
    const resubmit = await submit(token, { name: 'Laptop 2' }, secrets);
    expect(resubmit.status).toBe(410);
    expect((await env.daemon.admin.listDevices(ALICE)).filter((d) => d.name.startsWith('Laptop'))).toHaveLength(1);
    expect(env.logs.join('\n')).not.toContain(token);
    expect(env.logs.join('\n')).not.toContain(password);
  });

  it('takes a chosen password of 16 characters or more, and keeps the link open after a refusal', async () => {
    const token = await env.invite();
    const secrets = formSecrets(await open(token));
    const weak = await submit(token, { name: 'Tablet', client: 'android', password_mode: 'choose', password: 'too short' }, secrets);
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('at least 16 characters');
    expect(weak.text).toContain('value="Tablet"');
    const chosen = 'my tablet password 2026';
    // a browser posts under Referrer-Policy: no-referrer with "Origin: null"
    const done = await submit(token, { name: 'Tablet', client: 'android', password_mode: 'choose', password: chosen }, secrets,
      { Origin: 'null', 'Sec-Fetch-Site': 'same-origin' });
    expect(done.status).toBe(200);
    expect(passwordOf(done)).toBe('mytabletpassword2026');
    expect(done.text).not.toContain(chosen);

    // without script the radio cannot follow the field: a typed password counts as chosen
    const other = await env.invite();
    const typed = await submit(other, { name: 'Desk', client: 'other', password_mode: 'generate', password: 'typed into the field 1' },
      formSecrets(await open(other)));
    expect(passwordOf(typed)).toBe('typedintothefield1');
  });

  it('answers 410 for expired and revoked links and 404 for unknown ones, which count as failures of the client', async () => {
    const revoked = await env.invite();
    const id = (await env.daemon.invitations.list(ALICE)).at(-1)!.id;
    await env.daemon.invitations.revoke(ALICE, id, 'test');
    const expired = await env.invite();
    env.daemon.store!.database.prepare('UPDATE invitation SET expires_at = 1 WHERE id = ?').run(Number(id) + 1);
    const r = await env.request('GET', `/invite/${revoked}`);
    expect([r.status, r.text.includes('withdrawn')]).toEqual([410, true]);
    const e = await env.request('GET', `/invite/${expired}`);
    expect([e.status, e.text.includes('expired')]).toEqual([410, true]);
    const throttled = async () => ((await callDaemon(env.daemon.config.control.socket, 'status', {})) as { throttle: { networks: number } }).throttle.networks;
    expect(await throttled()).toBe(0);
    const unknown = await env.request('GET', `/invite/${'Z'.repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers['cache-control']).toBe('no-store');
    const garbage = await env.request('GET', `/invite/%3Cscript%3E`);
    expect(garbage.status).toBe(404);
    expect(garbage.text).not.toContain('<script>');
    expect(await throttled()).toBe(1);
  });

  it('bounds the form body and refuses other methods', async () => {
    const token = await env.invite();
    const big = await env.request('POST', `/invite/${token}`, { headers: FORM, body: 'name=' + 'a'.repeat(20_000) });
    expect(big.status).toBe(413);
    expect((await env.request('PUT', `/invite/${token}`)).status).toBe(405);
    expect((await env.request('GET', '/nothing-here')).status).toBe(404);
    expect((await env.daemon.invitations.lookup(token)).status).toBe('open');
  });
});
