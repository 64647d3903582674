export * from '../../../scripts/e2e/nginx.js';
