/** The Dovecot launcher lives under scripts/ so the IMAP benchmark can use it too. */
export { dovecotInstalled, dovecotPop3Installed, startDovecot, type DovecotInstance, type DovecotOptions } from '../../../scripts/e2e/dovecot.js';
