/**
 * The whole self-service path in a real browser: Debian's Chromium, headless,
 * driven by playwright-core (which never downloads a browser of its own).
 * Without /usr/bin/chromium the test is skipped, except under CI, where a
 * missing browser fails it.
 */
/// <reference lib="dom" />
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
/// <reference lib="dom" />
import path from 'node:path';
/// <reference lib="dom" />
import axe from 'axe-core';
/// <reference lib="dom" />
import { ImapFlow } from 'imapflow';
/// <reference lib="dom" />
import { chromium, type BrowserContext, type Page } from 'playwright-core';
/// <reference lib="dom" />
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
/// <reference lib="dom" />
import { ROOT } from '../helpers/env.js';
/// <reference lib="dom" />
import { FakeImapUpstream } from '../helpers/fake-imap-upstream.js';
/// <reference lib="dom" />
import { MASTER } from '../helpers/imap-env.js';
/// <reference lib="dom" />
import { ALICE, startWebEnv, type WebEnv } from '../helpers/web-env.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'browser');
const VIEWPORTS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 900 } } as const;

describe.runIf(!present && process.env.CI === 'true')('the browser test under CI', () => {
  it('needs Chromium at /usr/bin/chromium (apt-get install chromium)', () => {
    expect.fail(`${CHROMIUM} is missing: CI must install the Debian chromium package`);
  });
});

describe.skipIf(!present)('self-service setup in a browser', () => {
  let env: WebEnv;
  let upstream: FakeImapUpstream;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  let imapPort: number;
  /** What each page's accessibility check found, for the report. */
  const findings: Record<string, string[]> = {};

  beforeAll(async () => {
    upstream = new FakeImapUpstream({ masterUser: MASTER.user, masterPassword: MASTER.password });
    const upstreamPort = await upstream.start();
    env = await startWebEnv({
      imap: {
        listen: [], listen_tls: ['127.0.0.1:0'],
        upstream: { host: '127.0.0.1', port: upstreamPort, tls: 'none', master_user: MASTER.user, master_password: MASTER.password },
      },
    });
    imapPort = Number(env.daemon.surfaces.find((s) => s.name === 'imap')!.addresses()[0]!.split(':').pop());
    mkdirSync(ARTIFACTS, { recursive: true });
    profileDir = mkdtempSync('/tmp/dp-chromium-');
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      ignoreHTTPSErrors: true,
      acceptDownloads: true,
      viewport: VIEWPORTS.phone,
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await env?.stop();
    await upstream?.stop();
    console.log(`browser test screenshots in ${ARTIFACTS}; accessibility findings: ${JSON.stringify(findings)}`);
  });

  /** A screenshot at each viewport, then the axe-core check; serious and critical violations fail. */
  async function record(step: string): Promise<void> {
    for (const [name, size] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(size);
      await page.screenshot({ path: path.join(ARTIFACTS, `${step}-${name}.png`), fullPage: true });
    }
    await page.setViewportSize(VIEWPORTS.phone);
    // evaluated through the DevTools protocol: the page's CSP (no script at all) stays in force
    await page.evaluate(axe.source);
    const result = await page.evaluate(() => (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ['violations'] }));
    findings[step] = result.violations.map((v) => `${v.id} (${v.impact ?? 'n/a'})`);
    const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
  }

  it('opens an invitation, creates the device, logs in with the password, installs the profile once, and finds the link dead', async () => {
    const policyErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) policyErrors.push(message.text());
    });
    const link = (await env.daemon.invitations.create(ALICE, { name: 'iPhone' }, 'test')).url;

    const opened = await page.goto(link);
    expect(opened!.status()).toBe(200);
    expect(await page.inputValue('#name')).toBe('iPhone');
    await record('1-invitation');

    await page.fill('#name', 'My iPhone');
    await page.getByLabel('iPhone, iPad or Mac (Apple Mail)').check();
    await page.getByRole('button', { name: 'Create the password' }).click();
    await page.waitForSelector('#device-password', { timeout: 8000 }).catch(async (err: unknown) => { throw new Error(`${String(err)}\n${await page.content()}`); });
    expect(await page.title()).toBe('Your new password');
    const password = ((await page.textContent('#device-password')) ?? '').replace(/\s/g, '');
    expect(password).toMatch(/^[a-z]{24}$/);
    await record('2-password');

    // the password from the page logs in over IMAP through devicepass
    const imap = new ImapFlow({ host: '127.0.0.1', port: imapPort, secure: true, logger: false, tls: { rejectUnauthorized: false }, auth: { user: ALICE, pass: password } });
    await imap.connect();
    expect((await imap.mailboxOpen('INBOX')).path).toBe('INBOX');
    await imap.logout();
    expect(upstream.loggedIn(ALICE).length).toBeGreaterThan(0);

    // the profile downloads once
    const profileUrl = await page.getAttribute('#profile-link', 'href');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#profile-link')]);
    expect(download.suggestedFilename()).toMatch(/^device-\d+\.mobileconfig$/);
    const saved = path.join(profileDir, 'profile.mobileconfig');
    await download.saveAs(saved);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(saved, 'utf8')).toContain(`<string>${password}</string>`);
    const again = await page.goto(profileUrl!);
    expect(again!.status()).toBe(410);

    // and the invitation link is dead
    const dead = await page.goto(link);
    expect(dead!.status()).toBe(410);
    expect(await page.textContent('main')).toContain('already used');
    await record('3-used-link');
    expect(policyErrors).toEqual([]);
  }, 60_000);
});
