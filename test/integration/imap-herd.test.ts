import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapEnv, type ImapEnv } from '../helpers/imap-env.js';
import { RawImap } from '../helpers/imap-raw-client.js';

/**
 * After a restart every client reconnects at once, and a desktop client
 * opens several connections: 64 logins from one IP with one password, none
 * of them cached, must all get in (one hash shared by all of them).
 */
describe('IMAP reconnect herd', () => {
  let env: ImapEnv;
  beforeAll(async () => {
    // the real parameters: hashes slow enough that the 64 logins are in flight together
    env = await startImapEnv({ hashing: { memory_kib: 19456, iterations: 2, parallelism: 1 }, devices: { outlook: undefined } });
  });
  afterAll(async () => {
    await env.stop();
  });

  it('logs in 64 simultaneous connections from one IP with one password', async () => {
    const { password } = env.devices['outlook']!;
    const clients = await Promise.all(Array.from({ length: 64 }, () => RawImap.connect(env.plainPort)));
    await Promise.all(clients.map((c) => c.next(/^\* OK/)));
    for (const c of clients) c.send(`a LOGIN "alice@example.com" "${password}"\r\n`);
    const answers = await Promise.all(clients.map((c) => c.next(/^a /, 10_000)));
    expect(answers.filter((a) => a.startsWith('a OK'))).toHaveLength(64);
    expect(env.daemon.authenticator.stats().queue.completed).toBe(1);
    for (const c of clients) c.destroy();
  });
});
