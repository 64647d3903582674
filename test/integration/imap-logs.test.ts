import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { RawImap } from '../helpers/imap-raw-client.js';
import { MASTER, startImapEnv, type ImapEnv } from '../helpers/imap-env.js';

const ADDRESS = 'alice@example.com';
const CHOSEN = 'correct horse battery staple';
const WRONG = 'wrong-secret-password-123';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Every login path at debug level: the log must name what happened and never carry a password in any encoding. */
describe('IMAP front: no password in the logs', () => {
  let env: ImapEnv;
  const lines: string[] = [];

  beforeAll(async () => {
    const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
    env = await startImapEnv({ devices: { phone: CHOSEN }, log });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('LOGIN, AUTHENTICATE PLAIN (with and without SASL-IR), AUTHENTICATE LOGIN, right and wrong', async () => {
    const c = await RawImap.connect(env.tlsPort, { tls: true });
    await c.next(/^\* OK/);
    expect((await c.command('a', `LOGIN ${ADDRESS} "${WRONG}"`))[0]).toMatch(/^a NO \[AUTHENTICATIONFAILED\]/);
    expect((await c.command('b', `AUTHENTICATE PLAIN ${b64(`\0${ADDRESS}\0${WRONG}`)}`))[0]).toMatch(/^b NO/);
    c.send('c AUTHENTICATE LOGIN\r\n');
    await c.next(/^\+/);
    c.send(`${b64(ADDRESS)}\r\n`);
    await c.next(/^\+/);
    c.send(`${b64(WRONG)}\r\n`);
    expect(await c.next(/^c /)).toMatch(/^c NO/);
    c.destroy();

    for (const how of ['login', 'plain-ir', 'plain'] as const) {
      const d = await RawImap.connect(env.tlsPort, { tls: true });
      await d.next(/^\* OK/);
      if (how === 'login') d.send(`x LOGIN ${ADDRESS} "${CHOSEN}"\r\n`);
      if (how === 'plain-ir') d.send(`x AUTHENTICATE PLAIN ${b64(`\0${ADDRESS}\0${CHOSEN}`)}\r\n`);
      if (how === 'plain') {
        d.send('x AUTHENTICATE PLAIN\r\n');
        await d.next(/^\+/);
        d.send(`${b64(`${ADDRESS}\0${ADDRESS}\0${CHOSEN}`)}\r\n`);
      }
      expect(await d.next(/^x /)).toMatch(/^x OK/);
      d.destroy();
    }

    await new Promise((r) => setTimeout(r, 50));
    const text = lines.join('');
    expect(text).toContain('"reason":"wrong-password"');
    expect(text).toContain('IMAP login: proxying to upstream');
    expect(text).toContain('"args":["alice@example.com","[redacted]"]');
    for (const secret of [CHOSEN, WRONG, MASTER.password, 'correct horse', b64(CHOSEN), b64(WRONG), b64(`\0${ADDRESS}\0${CHOSEN}`), b64(`${ADDRESS}\0${ADDRESS}\0${CHOSEN}`), b64(`\0${ADDRESS}\0${WRONG}`)]) {
      expect(text).not.toContain(secret);
    }
  });
});
