export * from '../../../scripts/e2e/exim.js';
