import type { Scope } from '../store/types.js';
import type { ClientSettings, ServerSetting } from './client-settings.js';
import { html, type Html } from './html.js';

export const CLIENTS = {
  apple: 'iPhone, iPad or Mac (Apple Mail)',
  outlook: 'Outlook',
  thunderbird: 'Thunderbird',
  android: 'Android (Gmail or another mail app)',
  other: 'Another IMAP/SMTP mail program',
} as const;
export type Client = keyof typeof CLIENTS;

export function isClient(value: unknown): value is Client {
  return typeof value === 'string' && Object.hasOwn(CLIENTS, value);
}

/** A page: status, title and body; the surface adds the headers. */
export interface Page {
  status: number;
  title: string;
  body: Html;
}

export function layout(page: Page): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${page.title}</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<main>
${page.body}
</main>
</body>
</html>
`.text;
}

export interface SetupForm {
  address: string;
  name: string;
  client: Client | null;
  choose: boolean;
  csrf: string;
  /** Why the last submission was refused, in words for the user. */
  error: string | null;
}

export function setupPage(form: SetupForm): Page {
  const radio = (value: Client) => html`
<label><input type="radio" name="client" value="${value}"${form.client === value || (form.client === null && value === 'apple') ? html` checked` : ''}> ${CLIENTS[value]}</label>`;
  return {
    status: form.error ? 400 : 200,
    title: 'Set up a device',
    body: html`<h1>Set up a device for ${form.address}</h1>
<p>This makes a password for one device or mail program. It works only for the device you name here, and you can see it only once.</p>
${form.error ? html`<p class="error" role="alert">${form.error}</p>` : ''}
<form method="post" autocomplete="off">
<input type="hidden" name="csrf" value="${form.csrf}">
<div class="field">
<label for="name">Device name</label>
<input type="text" id="name" name="name" value="${form.name}" required maxlength="200" aria-describedby="name-hint">
<p class="hint" id="name-hint">For example "iPhone" or "Office laptop", so you can tell your devices apart later.</p>
</div>
<fieldset>
<legend>Mail program</legend>
${(Object.keys(CLIENTS) as Client[]).map(radio)}
</fieldset>
<fieldset>
<legend>Password</legend>
<label><input type="radio" name="password_mode" value="generate"${form.choose ? '' : html` checked`}> Make a strong password for me</label>
<label><input type="radio" name="password_mode" value="choose"${form.choose ? html` checked` : ''}> I choose my own password</label>
<div class="field">
<label for="password">Your own password (only if you choose one)</label>
<input type="password" id="password" name="password" minlength="16" maxlength="1024" autocomplete="new-password" aria-describedby="password-hint">
<p class="hint" id="password-hint">At least 16 characters. Spaces are not counted.</p>
</div>
</fieldset>
<button type="submit">Create the password</button>
</form>`,
  };
}

export interface DonePage {
  address: string;
  deviceName: string;
  password: string;
  client: Client;
  scopes: readonly Scope[];
  settings: ClientSettings;
  /** The one-time profile download (Apple Mail only), with its QR code as SVG markup. */
  profile: { url: string; qrSvg: Html; minutes: number } | null;
}

const SECURITY = { tls: 'SSL/TLS', starttls: 'STARTTLS' } as const;

/** The password in groups of four, each group its own element so copying it gives the password without spaces. */
function passwordGroups(password: string): Html {
  const groups = [...password].reduce<string[]>((acc, ch, i) => {
    if (i % 4 === 0) acc.push('');
    acc[acc.length - 1] += ch;
    return acc;
  }, []);
  return html`<p class="password" id="device-password" aria-label="Your password">${groups.map((g) => html`<span>${g}</span>`)}</p>`;
}

function serverTable(title: string, server: ServerSetting, address: string): Html {
  return html`<h2>${title}</h2>
<table>
<tr><th scope="row">Server type</th><td>${server.protocol.toUpperCase()}</td></tr>
<tr><th scope="row">Host name</th><td>${server.host}</td></tr>
<tr><th scope="row">Port</th><td>${server.port}</td></tr>
<tr><th scope="row">Security</th><td>${SECURITY[server.security]}</td></tr>
<tr><th scope="row">User name</th><td>${address}</td></tr>
<tr><th scope="row">Password</th><td>the password above</td></tr>
</table>`;
}

const STEPS: Record<Client, string> = {
  apple: 'In Settings, Mail, Accounts, Add Account, choose "Other", then "Add Mail Account". Enter the address and the password, choose the incoming type below, and fill in both servers.',
  outlook: 'Choose File, Add Account, enter the address, open "Advanced options", tick "Let me set up my account manually" and choose the incoming type below.',
  thunderbird: 'Choose "Add Mail Account" (or "Set up an existing email account"), enter the address and the password; if Thunderbird does not find the settings itself, choose "Configure manually".',
  android: 'In the mail app, add an account of type "Other" (or "Personal (IMAP)"), enter the address, choose "Manual setup" and fill in the servers below.',
  other: 'Set up a new account by hand with the servers below.',
};

export function donePage(page: DonePage): Page {
  const incoming = page.scopes.includes('imap') ? page.settings.imap : page.scopes.includes('pop3') ? page.settings.pop3 : null;
  const outgoing = page.scopes.includes('smtp') ? page.settings.smtp : null;
  return {
    status: 200,
    title: 'Your new password',
    body: html`<h1>The password for "${page.deviceName}"</h1>
<p class="notice" role="status">The device is ready. Write the password into the mail program now: this page cannot be shown again.</p>
${passwordGroups(page.password)}
<p class="hint">Spaces between the groups are optional when you type it.</p>
${page.profile ? html`<h2>Set up Apple Mail in one step</h2>
<p><a class="button" href="${page.profile.url}" id="profile-link">Download the profile</a></p>
<p>Or scan this code with the camera of the iPhone or iPad:</p>
<div class="qr">${page.profile.qrSvg}</div>
<p class="hint">The download works once, within ${page.profile.minutes} minutes. Then open Settings, "Profile Downloaded", and install it.</p>
<h2>Or set it up by hand</h2>` : ''}
<p>${STEPS[page.client]}</p>
${page.client === 'apple' && outgoing ? html`<p>Apple Mail asks for the password twice, for the incoming and for the outgoing server: the same password goes in both.</p>` : ''}
${incoming ? serverTable(`Incoming mail (${incoming.protocol.toUpperCase()})`, incoming, page.address) : ''}
${outgoing ? serverTable('Outgoing mail (SMTP)', outgoing, page.address) : ''}
<p class="muted">If you did not ask for this device, tell the administrator of ${page.address}.</p>`,
  };
}

const CLOSED: Record<string, string> = {
  used: 'This invitation link was already used to set up a device. Each link sets up one device only.',
  expired: 'This invitation link has expired.',
  revoked: 'This invitation link was withdrawn.',
  unknown: 'This link is not valid. Check that it was copied whole.',
  'profile-gone': 'This profile download was already used or has expired. Each download works once, for a few minutes.',
};

/** A link that cannot be used (any more): 410 when it once worked, 404 when it never existed. */
export function closedPage(reason: keyof typeof CLOSED): Page {
  return {
    status: reason === 'unknown' ? 404 : 410,
    title: 'Link not usable',
    body: html`<h1>This link cannot be used</h1>
<p>${CLOSED[reason]}</p>
<p>Ask the administrator of your mail address for a new one.</p>`,
  };
}

export function messagePage(status: number, title: string, text: string): Page {
  return { status, title, body: html`<h1>${title}</h1>\n<p>${text}</p>` };
}
