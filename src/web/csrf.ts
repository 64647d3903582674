import { randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/** __Host-: the browser sends it only to this origin over HTTPS, and no subdomain can plant one. */
export const CSRF_COOKIE = '__Host-devicepass-csrf';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{32}$/;

/**
 * Double-submit CSRF protection: a random value in a SameSite=Strict,
 * HttpOnly cookie and the same value in each form's hidden field. A page of
 * another site can make a browser post a form here but can neither read nor
 * set the cookie, so the two never match; the Origin check refuses the rest.
 */
export function csrfToken(req: http.IncomingMessage): { token: string; setCookie: string | null } {
  const current = cookie(req, CSRF_COOKIE);
  if (current !== null && TOKEN_SHAPE.test(current)) return { token: current, setCookie: null };
  const token = randomBytes(24).toString('base64url');
  return { token, setCookie: `${CSRF_COOKIE}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict` };
}

export function csrfValid(req: http.IncomingMessage, submitted: string | null, ownOrigins: readonly string[]): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  // under Referrer-Policy: no-referrer a browser posts its forms with "Origin: null"
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null' && !ownOrigins.includes(origin)) return false;
  const current = cookie(req, CSRF_COOKIE);
  if (current === null || submitted === null || !TOKEN_SHAPE.test(current)) return false;
  const a = Buffer.from(current);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(req: http.IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
