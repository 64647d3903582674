export * from '../../../scripts/e2e/sasl-postfix.js';
