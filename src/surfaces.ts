import { dovecotAuthSurface } from './dovecot-auth/surface.js';
import { httpSurface } from './http/surface.js';
import { imapSurface } from './imap/surface.js';
import { pop3Surface } from './pop3/surface.js';
import { smtpSurface } from './smtp/surface.js';
import { webSurface } from './web/surface.js';
import type { SurfaceFactory } from './front-context.js';

/**
 * The fronts this build serves, in start order. Each factory returns null
 * when its configuration disables it (an empty `listen` list).
 */
export const SURFACES: readonly SurfaceFactory[] = [imapSurface, pop3Surface, smtpSurface, dovecotAuthSurface, httpSurface, webSurface];
