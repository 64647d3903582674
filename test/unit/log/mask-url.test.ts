import { describe, expect, it } from 'vitest';
import { maskUrl } from '../../../src/log/mask-url.js';

describe('maskUrl', () => {
  it.each([
    ['postgres://u:s3cret@db.example:5432/dp?sslmode=require', 'postgres://u:***@db.example:5432/dp?sslmode=require'],
    ['postgres://u@db.example/dp?password=s3cret&application_name=x', 'postgres://u@db.example/dp?password=***&application_name=x'],
    ['postgres://u:s3cret@db.example/dp?PASSWORD=s3cret&sslpassword=s3cret', 'postgres://u:***@db.example/dp?PASSWORD=***&sslpassword=***'],
    ['postgres://db.example/dp', 'postgres://db.example/dp'],
    ['', ''],
    // refused by WHATWG URL, taken by pg
    ['postgres://u:s3cret@/dp', 'postgres://u:***@/dp'],
    ['postgres://u:s3/cr@et@db.example:99999/dp', 'postgres://u:***@db.example:99999/dp'],
    ['/var/run/postgresql dp', '/var/run/postgresql dp'],
    ['host=db password=s3cret', '(a connection string)'],
  ])('%s', (url, shown) => {
    expect(maskUrl(url)).toBe(shown);
    if (url.includes('s3cret')) expect(maskUrl(url)).not.toContain('s3');
  });
});
