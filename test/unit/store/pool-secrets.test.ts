import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scrubSecrets } from '../../../src/store/postgres/pool.js';

/** What pg or the server might say, with the password in it (a careless error text is exactly the case scrubbing is for). */
const said = (password: string) => `connection to db.example failed for user "dp" with password ${password}: timeout`;

describe('scrubSecrets', () => {
  let pgpassword: string | undefined;
  // PGPASSWORD is scrubbed too: the developer's own must not make these cases pass
  beforeEach(() => {
    pgpassword = process.env.PGPASSWORD;
    delete process.env.PGPASSWORD;
  });
  afterEach(() => {
    if (pgpassword === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = pgpassword;
  });

  it('scrubs a password with a stray % (not percent-decodable), and the query password beside it', () => {
    const url = 'postgres://dp:50%off-s3cret@db.example/dp?password=second%zz-s3cret';
    const out = scrubSecrets(url, `${said('50%off-s3cret')} / ${said('second%zz-s3cret')}`);
    expect(out).not.toContain('s3cret');
    expect(out).toContain('with password ***: timeout');
  });

  it('scrubs both the percent-encoded and the decoded form of a password', () => {
    const url = 'postgres://dp:p%40ss%2Fw0rd@db.example/dp';
    expect(scrubSecrets(url, said('p%40ss%2Fw0rd'))).toBe(said('***'));
    expect(scrubSecrets(url, said('p@ss/w0rd'))).toBe(said('***'));
  });

  it('scrubs the password of a URL with no host, which pg takes (the socket from PGHOST)', () => {
    expect(scrubSecrets('postgres://dp:hostless-s3cret@/dp', said('hostless-s3cret'))).toBe(said('***'));
  });

  it('scrubs PGPASSWORD and leaves a text without secrets alone', () => {
    process.env.PGPASSWORD = 'from-the-environment';
    expect(scrubSecrets('postgres://dp@db.example/dp', said('from-the-environment'))).toBe(said('***'));
    expect(scrubSecrets('postgres://dp@db.example/dp', 'connection refused')).toBe('connection refused');
  });
});
