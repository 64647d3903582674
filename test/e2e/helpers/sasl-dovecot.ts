export * from '../../../scripts/e2e/sasl-dovecot.js';
