import { lineFrontSurface } from '../net/line-front-surface.js';
import { composeStatus } from './compose.js';
import { Pop3Connection } from './connection.js';
import { GOODBYES } from './replies.js';

/** The POP3 front: `[pop3] listen` (plaintext with STLS) and `listen_tls` (implicit TLS). */
export const pop3Surface = lineFrontSurface<Pop3Connection>({
  name: 'pop3',
  label: 'POP3',
  section: (config) => config.pop3,
  refusal: composeStatus(GOODBYES.tooManyConnections),
  open: (options) => new Pop3Connection(options),
});
