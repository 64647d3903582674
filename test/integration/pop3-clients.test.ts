/**
 * The logins real POP3 clients make, replayed byte for byte: what each sends
 * and in which order, and the exact answers it relies on. The client sides
 * follow what these clients are known to send (their CAPA probing, STLS,
 * mechanism choice and initial-response habits).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MESSAGE } from '../helpers/fake-pop3-upstream.js';
import { RawImap as RawLines } from '../helpers/imap-raw-client.js';
import { startPop3Env, type Pop3Env } from '../helpers/pop3-env.js';

const ADDRESS = 'alice@example.com';
const SIZE = Buffer.byteLength(FAKE_MESSAGE);
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Client line, then the exact server lines it must get (a multi-line answer written out with its "."). */
type Step = readonly [send: string | null, expect: readonly string[]];

async function replay(c: RawLines, steps: readonly Step[]): Promise<void> {
  for (const [send, lines] of steps) {
    if (send === 'STLS-HANDSHAKE') {
      await c.upgrade();
      continue;
    }
    if (send !== null) c.send(`${send}\r\n`);
    for (const want of lines) expect(await c.next(() => true)).toBe(want);
  }
}

const CAPA_BEFORE_TLS = ['+OK Capability list follows', 'TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'STLS', '.'];
const CAPA_TLS = ['+OK Capability list follows', 'TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'USER', 'SASL PLAIN LOGIN', '.'];

describe('POP3 logins as real clients make them (client outside trusted networks)', () => {
  let env: Pop3Env;
  beforeAll(async () => {
    env = await startPop3Env({ auth: { trusted_networks: [] }, devices: { outlook: {}, iphone: {}, thunderbird: {} } });
  });
  afterAll(async () => env?.stop());

  it('Outlook on 995: CAPA, AUTH to list mechanisms, AUTH LOGIN with the two prompts, then STAT', async () => {
    const c = await RawLines.connect(env.tlsPort, { tls: true });
    await replay(c, [
      [null, ['+OK devicepass ready.']],
      ['CAPA', CAPA_TLS],
      ['AUTH', ['+OK Mechanisms follow', 'PLAIN', 'LOGIN', '.']],
      ['AUTH LOGIN', [`+ ${b64('Username:')}`]],
      [b64(ADDRESS), [`+ ${b64('Password:')}`]],
      [b64(env.devices.outlook!.password), ['+OK Logged in.']],
      ['STAT', [`+OK 1 ${SIZE}`]],
      ['QUIT', ['+OK Logging out.']],
    ]);
    await c.waitClosed();
    expect(env.upstream.loggedIn(ADDRESS).at(-1)!.commands).toEqual(['STAT', 'QUIT']);
  });

  it('Apple Mail on 110: CAPA, STLS, CAPA again, then USER and PASS', async () => {
    const c = await RawLines.connect(env.plainPort);
    await replay(c, [
      [null, ['+OK devicepass ready.']],
      ['CAPA', CAPA_BEFORE_TLS],
      ['STLS', ['+OK Begin TLS negotiation now']],
      ['STLS-HANDSHAKE', []],
      ['CAPA', CAPA_TLS],
      [`USER ${ADDRESS}`, ['+OK Send your password']],
      [`PASS ${env.devices.iphone!.password}`, ['+OK Logged in.']],
      ['X-WHOAMI', [`+OK ${ADDRESS}`]],
      ['QUIT', ['+OK Logging out.']],
    ]);
    await c.waitClosed();
  });

  it('Thunderbird on 110: CAPA, STLS, CAPA, AUTH PLAIN answered on the continuation line, then pipelined STAT and LIST', async () => {
    const c = await RawLines.connect(env.plainPort);
    await replay(c, [
      [null, ['+OK devicepass ready.']],
      ['CAPA', CAPA_BEFORE_TLS],
      ['STLS', ['+OK Begin TLS negotiation now']],
      ['STLS-HANDSHAKE', []],
      ['CAPA', CAPA_TLS],
      ['AUTH PLAIN', ['+ ']],
      [b64(`\0${ADDRESS}\0${env.devices.thunderbird!.password}`), ['+OK Logged in.']],
      ['STAT\r\nLIST', [`+OK 1 ${SIZE}`, '+OK 1 messages:', `1 ${SIZE}`, '.']],
      ['QUIT', ['+OK Logging out.']],
    ]);
    await c.waitClosed();
  });

  it('a client that sends its password before STLS is refused with [AUTH] and told how to go on', async () => {
    const c = await RawLines.connect(env.plainPort);
    await replay(c, [
      [null, ['+OK devicepass ready.']],
      [`USER ${ADDRESS}`, ['-ERR [AUTH] Plaintext authentication refused before TLS: use STLS or port 995 first']],
      [`PASS ${env.devices.iphone!.password}`, ['-ERR [AUTH] Plaintext authentication refused before TLS: use STLS or port 995 first']],
    ]);
    c.destroy();
  });
});
