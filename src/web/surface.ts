import { readFileSync } from 'node:fs';
import https from 'node:https';
import type http from 'node:http';
import type net from 'node:net';
import QRCode from 'qrcode';
import { DevicepassError } from '../errors/catalogue.js';
import { normalizeDevicePassword } from '../credentials/password.js';
import { HttpListeners } from '../net/http-listeners.js';
import { serverTlsOptions } from '../net/tls.js';
import type { FrontContext, Surface, SurfaceFactory } from '../front-context.js';
import { autoconfigXml, autodiscoverJson, autodiscoverXml } from './autoconfig.js';
import { clientSettings, type ClientSettings } from './client-settings.js';
import { csrfToken, csrfValid } from './csrf.js';
import { trusted } from './html.js';
import { OneTimeStore } from './one-time-store.js';
import { closedPage, donePage, isClient, layout, messagePage, setupPage, type Client, type Page } from './pages.js';
import { buildProfile, PROFILE_CONTENT_TYPE, profileAvailable, ProfileSigner } from './profile.js';
import { STYLESHEET } from './style.js';

const MAX_HEADER_BYTES = 8 * 1024;
/** A setup form or an autodiscover request is a few hundred bytes. */
const MAX_BODY_BYTES = 16 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_PENDING_PROFILES = 1000;
const HEADERS_TIMEOUT_MS = 15_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/** No script, no frames, no third party: the pages work without JavaScript and allow none. */
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const PAGE_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
} as const;

interface PendingProfile {
  body: Buffer;
  deviceId: string;
}

/** Invitation and setup pages, Apple profiles, Thunderbird autoconfig and Outlook autodiscover, over TLS, on `[web] listen`. */
export const webSurface: SurfaceFactory = (ctx) => (ctx.config.web.listen.length === 0 ? null : new WebSurface(ctx));

class WebSurface implements Surface {
  readonly name = 'web';
  readonly #ctx: FrontContext;
  readonly #listeners: HttpListeners<https.Server>;
  readonly #settings: ClientSettings;
  readonly #publicUrl: string;
  readonly #profiles: OneTimeStore<PendingProfile>;
  readonly #signer: ProfileSigner | null;
  #sweeper: NodeJS.Timeout | null = null;

  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
    const config = ctx.config.web;
    this.#listeners = new HttpListeners({
      gate: ctx.connections.gate('web', { maxConnections: config.max_connections, maxPerNetwork: config.max_connections_per_network }),
      // a TLS port: nothing readable can be said before a handshake, so a refused connection is closed
      refusal: null,
    });
    this.#settings = clientSettings(ctx.config);
    this.#publicUrl = ctx.config.web.public_url.replace(/\/+$/, '');
    this.#profiles = new OneTimeStore({ ttlMs: ctx.config.web.profile_ttl, max: MAX_PENDING_PROFILES });
    const { profile_signing_cert: cert, profile_signing_key: key } = ctx.config.web;
    if ((cert === '') !== (key === '')) throw new Error('[web] needs both profile_signing_cert and profile_signing_key, or neither');
    this.#signer = cert === '' ? null : new ProfileSigner(readFileSync(cert, 'utf8'), readFileSync(key, 'utf8'));
  }

  async start(): Promise<void> {
    const options: https.ServerOptions = {
      ...serverTlsOptions(this.#ctx.tls.material), maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    };
    const bound = await this.#listeners.listen(this.#ctx.config.web.listen, () => {
      const server = https.createServer(options, (req, res) => {
        this.#handle(req, res).catch((err: unknown) => {
          // the error, never the URL: it may carry an invitation token
          this.#ctx.log.error({ err, surface: 'web' }, 'web: request failed');
          if (!res.headersSent) this.#page(res, messagePage(500, 'Something went wrong', 'Please try again in a moment.'));
          else res.end();
        });
      });
      server.on('clientError', (_err, socket: net.Socket) => socket.destroy());
      server.on('tlsClientError', () => undefined);
      return server;
    });
    for (const listen of bound) this.#ctx.log.info({ surface: 'web', listen, publicUrl: this.#publicUrl, signedProfiles: this.#signer !== null }, 'web surface listening');
    // a renewed certificate (SIGHUP) reaches the next handshakes
    this.#ctx.tls.onReplace((material) => {
      for (const server of this.#listeners.servers) server.setSecureContext(serverTlsOptions(material));
    });
    this.#sweeper = setInterval(() => this.#profiles.sweep(), 60_000);
    this.#sweeper.unref();
  }

  async stop(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    await this.#listeners.stop();
  }

  addresses(): string[] {
    return this.#listeners.addresses();
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://devicepass.invalid');
    const path = url.pathname;
    const lower = path.toLowerCase();
    const method = req.method ?? 'GET';
    const invite = /^\/invite\/([^/]{1,200})$/.exec(path);
    if (invite) {
      if (method === 'GET' || method === 'HEAD') return this.#showInvite(req, res, invite[1]!);
      if (method === 'POST') return this.#submitInvite(req, res, invite[1]!);
      return this.#notAllowed(res, 'GET, POST');
    }
    const profile = /^\/profile\/([A-Za-z0-9_-]{43})\.mobileconfig$/.exec(path);
    if (profile || path.startsWith('/profile/')) {
      if (method !== 'GET' && method !== 'HEAD') return this.#notAllowed(res, 'GET');
      return this.#downloadProfile(req, res, profile?.[1] ?? null);
    }
    if (lower === '/.well-known/autoconfig/mail/config-v1.1.xml' || lower === '/mail/config-v1.1.xml') {
      if (method !== 'GET' && method !== 'HEAD') return this.#notAllowed(res, 'GET');
      return this.#send(res, 200, 'application/xml; charset=utf-8', autoconfigXml(this.#settings, this.#serviceHost()));
    }
    if (lower === '/autodiscover/autodiscover.xml') {
      if (method !== 'POST' && method !== 'GET') return this.#notAllowed(res, 'POST');
      const body = method === 'POST' ? await readBody(req) : null;
      if (body === 'too-large') return this.#send(res, 413, 'text/plain; charset=utf-8', 'request too large\n');
      return this.#send(res, 200, 'application/xml; charset=utf-8', autodiscoverXml(this.#settings, body));
    }
    if (lower.startsWith('/autodiscover/autodiscover.json')) {
      const answer = autodiscoverJson(url, this.#publicUrl);
      return this.#send(res, answer.status, 'application/json; charset=utf-8', JSON.stringify(answer.body));
    }
    if (path === '/assets/style.css') {
      res.writeHead(200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' });
      res.end(STYLESHEET);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204, { 'Cache-Control': 'public, max-age=86400' });
      res.end();
      return;
    }
    if (path === '/') {
      return this.#page(res, messagePage(200, 'Mail device setup', 'Open the invitation link you were sent to set up a device.'));
    }
    return this.#page(res, messagePage(404, 'Not found', 'There is nothing at this address.'));
  }

  async #showInvite(req: http.IncomingMessage, res: http.ServerResponse, token: string): Promise<void> {
    const found = await this.#lookup(req, token);
    if (found.status !== 'open') return this.#page(res, closedPage(found.status));
    const csrf = csrfToken(req);
    const invitation = found.invitation;
    return this.#page(res, setupPage({ address: invitation.address, name: invitation.name, client: null, choose: false, csrf: csrf.token, error: null }), csrf.setCookie);
  }

  async #submitInvite(req: http.IncomingMessage, res: http.ServerResponse, token: string): Promise<void> {
    const found = await this.#lookup(req, token);
    if (found.status !== 'open') return this.#page(res, closedPage(found.status));
    const body = await readBody(req);
    if (body === 'too-large') return this.#page(res, messagePage(413, 'Too much data', 'The form sent more than it can hold. Go back and try again.'));
    const form = new URLSearchParams(body);
    const ownOrigins = [new URL(this.#publicUrl).origin, ...(req.headers.host ? [`https://${req.headers.host}`] : [])];
    if (!csrfValid(req, form.get('csrf'), ownOrigins)) {
      return this.#page(res, messagePage(403, 'Please try again', 'The form could not be checked (it may be old, or cookies are off). Open the invitation link again.'));
    }
    const name = form.get('name') ?? '';
    const client: Client = isClient(form.get('client')) ? (form.get('client') as Client) : 'other';
    // without script the radio cannot follow the field: a typed password is a chosen one
    const choose = form.get('password_mode') === 'choose' || (form.get('password') ?? '') !== '';
    const chosen = choose ? form.get('password') ?? '' : undefined;
    const retry = (error: string) => {
      const csrf = csrfToken(req);
      return this.#page(res, setupPage({ address: found.invitation.address, name, client, choose, csrf: csrf.token, error }), csrf.setCookie);
    };
    let redemption;
    try {
      redemption = await this.#ctx.invitations.redeem(token, { name, password: chosen, ip: clientIp(req) });
    } catch (err) {
      if (!(err instanceof DevicepassError)) throw err;
      switch (err.code) {
        case 'INVITE_CLOSED': {
          // claimed by a parallel submission, or expired or revoked since the lookup above
          const now = (await this.#ctx.invitations.lookup(token)).status;
          return this.#page(res, closedPage(now === 'open' ? 'used' : now));
        }
        case 'NAME_INVALID': return retry('Give the device a name (up to 200 characters).');
        case 'PASSWORD_WEAK': return retry('A password you choose needs at least 16 characters (spaces are not counted).');
        case 'PASSWORD_IN_USE': return retry('That password is already used by another of your devices. Choose a different one.');
        case 'EXPIRES_INVALID': return this.#page(res, messagePage(409, 'This invitation cannot be used', 'The device it was made for would already have expired. Ask for a new link.'));
        default: return retry('The device could not be created. Please try again.');
      }
    }
    const { device } = redemption;
    const password = normalizeDevicePassword(device.password);
    let profile = null;
    if (client === 'apple' && profileAvailable(device.scopes)) {
      const plist = buildProfile({
        address: found.invitation.address, deviceId: device.id, deviceName: device.name, password, scopes: device.scopes,
        settings: this.#settings, expiresAt: device.expires === null ? null : Date.parse(device.expires),
      });
      const body = this.#signer ? this.#signer.sign(plist) : Buffer.from(plist, 'utf8');
      const key = this.#profiles.put({ body, deviceId: device.id });
      const url = `${this.#publicUrl}/profile/${key}.mobileconfig`;
      const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      profile = {
        url,
        qrSvg: trusted(svg.replace('<svg ', '<svg role="img" aria-label="QR code that opens the profile download" ')),
        minutes: Math.max(1, Math.round(this.#profiles.ttlMs / 60_000)),
      };
    }
    this.#ctx.log.info({ surface: 'web', address: found.invitation.address, device: device.id, invitation: found.invitation.id, client }, 'device set up through an invitation');
    return this.#page(res, donePage({
      address: found.invitation.address, deviceName: device.name, password, client, scopes: device.scopes, settings: this.#settings, profile,
    }));
  }

  #downloadProfile(req: http.IncomingMessage, res: http.ServerResponse, key: string | null): void {
    const pending = key === null ? undefined : this.#profiles.take(key);
    if (!pending) {
      this.#ctx.linkGuessed(clientIp(req));
      return this.#page(res, closedPage('profile-gone'));
    }
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'Content-Type': PROFILE_CONTENT_TYPE,
      'Content-Disposition': `attachment; filename="device-${pending.deviceId}.mobileconfig"`,
      'Content-Length': String(pending.body.length),
    });
    res.end(req.method === 'HEAD' ? undefined : pending.body);
    // the body carries the password: do not leave it in memory longer than the socket needs it
    res.once('finish', () => pending.body.fill(0));
  }

  /** A token's status; an unknown token counts as a failed login of that client IP and waits as long. */
  async #lookup(req: http.IncomingMessage, token: string): Promise<Awaited<ReturnType<FrontContext['invitations']['lookup']>>> {
    const found = await this.#ctx.invitations.lookup(token);
    if (found.status === 'unknown') {
      const ip = clientIp(req);
      const delay = this.#ctx.linkGuessed(ip);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
    return found;
  }

  #serviceHost(): string {
    return new URL(this.#publicUrl).hostname;
  }

  #page(res: http.ServerResponse, page: Page, setCookie: string | null = null): void {
    const body = layout(page);
    res.writeHead(page.status, {
      ...PAGE_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      ...(setCookie ? { 'Set-Cookie': setCookie } : {}),
    });
    res.end(body);
  }

  #send(res: http.ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  #notAllowed(res: http.ServerResponse, allow: string): void {
    res.setHeader('Allow', allow);
    this.#page(res, messagePage(405, 'Not allowed', 'This address does not accept that kind of request.'));
  }
}

function clientIp(req: http.IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** The request body as text, or 'too-large' past the bound (the rest is not read). */
function readBody(req: http.IncomingMessage): Promise<string | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      return resolve('too-large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
