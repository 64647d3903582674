/** The Dovecot launcher lives under scripts/ so the IMAP benchmark can use it too. */
export { dovecotInstalled, startDovecot, type DovecotInstance, type DovecotOptions } from '../../../scripts/e2e/dovecot.js';
