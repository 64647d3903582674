import { describe, expect, it } from 'vitest';
import { authzidPermitted } from '../../../src/sasl/authzid.js';

describe('the PLAIN authorization identity', () => {
  it.each([
    ['', 'alice@example.com', true],
    ['alice@example.com', 'alice@example.com', true],
    ['Alice@Example.COM', 'alice@example.com', true],
    ['alice@example.com', 'ALICE@example.com', true],
    ['bob@example.com', 'alice@example.com', false],
    ['admin', 'alice@example.com', false],
    ['alice@example.com ', 'alice@example.com', true],
    ['alice', 'alice', true],
    ['Alice', 'alice', false],
  ])('authzid %j with login %j: %s', (authzid, authcid, permitted) => {
    expect(authzidPermitted(authzid, authcid)).toBe(permitted);
    expect(authzidPermitted(Buffer.from(authzid), Buffer.from(authcid))).toBe(permitted);
  });
});
