import { describe, expect, it } from 'vitest';
import { censorSecrets, createLogger } from '../../../src/log/logger.js';

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[]; text: () => string } {
  const written: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void written.push(line) });
  return { log, lines: () => written.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => written.join('') };
}

describe('the logger censors secrets', () => {
  it('at the top, one level down and two levels down, in objects and arrays', () => {
    const { log, lines, text } = capture();
    log.info({ password: 'top-secret-1', pass: 'top-secret-2', secret: 'top-secret-3', response: 'top-secret-4', master_password: 'top-secret-5' }, 'top');
    log.info({ args: { password: 'nested-secret-1' }, upstream: { master_password: 'nested-secret-2' }, list: [{ pass: 'nested-secret-3' }] }, 'one down');
    log.info({ request: { args: { password: 'deep-secret-1' } }, config: { imap: { master_password: 'deep-secret-2' } } }, 'two down');
    for (const secret of ['top-secret-1', 'top-secret-2', 'top-secret-3', 'top-secret-4', 'top-secret-5', 'nested-secret-1', 'nested-secret-2', 'nested-secret-3', 'deep-secret-1', 'deep-secret-2']) {
      expect(text()).not.toContain(secret);
    }
    const [top, one, two] = lines();
    expect(top).toMatchObject({ password: '[redacted]', pass: '[redacted]', secret: '[redacted]', response: '[redacted]', master_password: '[redacted]', msg: 'top' });
    expect(one).toMatchObject({ args: { password: '[redacted]' }, upstream: { master_password: '[redacted]' }, list: [{ pass: '[redacted]' }] });
    expect(two).toMatchObject({ request: { args: { password: '[redacted]' } }, config: { imap: { master_password: '[redacted]' } } });
  });

  it('in the bindings of a child logger', () => {
    const { log, lines, text } = capture();
    const child = log.child({ surface: 'control', password: 'bound-secret', args: { secret: 'bound-secret-2' } });
    child.info({ address: 'alice@example.com' }, 'child line');
    child.child({ pass: 'bound-secret-3', deviceId: 3 }).info('grandchild line');
    expect(text()).not.toContain('bound-secret');
    expect(lines()[0]).toMatchObject({ surface: 'control', password: '[redacted]', args: { secret: '[redacted]' }, address: 'alice@example.com' });
    expect(lines()[1]).toMatchObject({ surface: 'control', pass: '[redacted]', deviceId: 3, msg: 'grandchild line' });
  });

  it('leaves everything else as it was, and never changes the caller’s object', () => {
    const { log, lines } = capture();
    const fields = { address: 'alice@example.com', deviceId: 7, args: { password: 'caller-secret', name: 'iPhone' }, err: { message: 'boom' } };
    log.info(fields, 'line');
    expect(fields.args.password).toBe('caller-secret');
    expect(lines()[0]).toMatchObject({ service: 'devicepassd', address: 'alice@example.com', deviceId: 7, args: { password: '[redacted]', name: 'iPhone' }, err: { message: 'boom' } });
  });

  it('returns the very same object when there is nothing to censor', () => {
    const clean = { address: 'alice@example.com', nested: { list: [1, 'two', { three: 3 }] } };
    expect(censorSecrets(clean)).toBe(clean);
    const dirty = { list: [{ password: 'x' }], other: { a: 1 } };
    const censored = censorSecrets(dirty);
    expect(censored).not.toBe(dirty);
    expect(censored).toEqual({ list: [{ password: '[redacted]' }], other: { a: 1 } });
    expect(censored.other).toBe(dirty.other);
    expect(dirty.list[0]!.password).toBe('x');
  });
});
