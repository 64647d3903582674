import { describe, expect, it } from 'vitest';
import { decodeSaslBase64, splitPlain } from '../../../src/sasl/encoding.js';

describe('SASL payload decoding shared by every front', () => {
  it('decodes strict, padded base64 only', () => {
    expect(decodeSaslBase64('')?.length).toBe(0);
    expect(decodeSaslBase64('YQ==')?.toString()).toBe('a');
    for (const bad of ['YQ', 'Y===', 'YQ==YQ==', 'a b=', '****']) expect(decodeSaslBase64(bad)).toBeNull();
  });

  it('splits a PLAIN message into authzid, authcid and password, at exactly two NULs', () => {
    const parts = splitPlain(Buffer.from('\0alice@example.com\0pass word'));
    expect(parts && [parts.authzid.toString(), parts.authcid.toString(), parts.password.toString()]).toEqual(['', 'alice@example.com', 'pass word']);
    expect(splitPlain(Buffer.from('admin\0alice\0pw'))?.authzid.toString()).toBe('admin');
    for (const bad of ['no nul at all', 'one\0nul', 'three\0nuls\0in\0it']) expect(splitPlain(Buffer.from(bad))).toBeNull();
  });
});
