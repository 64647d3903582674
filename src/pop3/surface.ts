import { lineFrontSurface } from '../net/line-front-surface.js';
import { SpareUpstreams } from '../net/spare-upstreams.js';
import { composeStatus } from './compose.js';
import { Pop3Connection } from './connection.js';
import { GOODBYES } from './replies.js';
import { greetPop3Upstream, type Pop3Spares } from './upstream.js';

/**
 * Spare upstream connections (docs/pop3.md, "Spare upstream connections"):
 * two cover a login at a time and a second arriving meanwhile; 30 s is far
 * inside any POP3 server's pre-login timeout (RFC 1939: at least 10 minutes).
 */
const SPARES = { max: 2, idleMs: 30_000 };

/** The POP3 front: `[pop3] listen` (plaintext with STLS) and `listen_tls` (implicit TLS). */
export const pop3Surface = lineFrontSurface<Pop3Connection, Pop3Spares>({
  name: 'pop3',
  label: 'POP3',
  section: (config) => config.pop3,
  refusal: composeStatus(GOODBYES.tooManyConnections),
  shared: (ctx) => new SpareUpstreams((upstream) => greetPop3Upstream(upstream), SPARES, ctx.log),
  open: (options) => new Pop3Connection(options),
});
