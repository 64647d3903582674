import { lineFrontSurface } from '../net/line-front-surface.js';
import { composeStatus } from './compose.js';
import { ImapConnection } from './connection.js';
import { BYES } from './replies.js';

/** The IMAP front: `[imap] listen` (plaintext with STARTTLS) and `listen_tls` (implicit TLS). */
export const imapSurface = lineFrontSurface<ImapConnection, null>({
  name: 'imap',
  label: 'IMAP',
  section: (config) => config.imap,
  refusal: composeStatus('*', BYES.tooManyConnections),
  shared: () => null,
  open: (options) => new ImapConnection(options),
});
