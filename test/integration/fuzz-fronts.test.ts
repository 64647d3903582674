/**
 * Real-socket fuzzing of every running front (test/helpers/fuzz): each case
 * is answered or closed with the protocol's goodbye within a bound, the
 * output is well-formed, nothing is rejected unhandled, every front still
 * logs the device in afterwards, and no secret reaches the log.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converse } from '../helpers/fuzz/conversation.js';
import { leakedLines, startFronts, type Fronts } from '../helpers/fuzz/fronts.js';
import { fuzzParameters } from '../helpers/fuzz/settings.js';
import { imapConversation, SOCKET_TARGETS } from '../helpers/fuzz/socket-targets.js';
import { RawImap } from '../helpers/imap-raw-client.js';

/** Hand-made IMAP cases the random ones rarely reach, through the same conversation. */
const IMAP_ADVERSARIAL: Array<[string, Buffer]> = [
  ['huge sync literal', Buffer.from('a LOGIN {4294967296}\r\n')],
  ['huge non-sync literal', Buffer.from('a LOGIN {99999999999999999999+}\r\nabc')],
  ['NULs', Buffer.concat([Buffer.from('a LOGIN "x'), Buffer.alloc(10_000, 0), Buffer.from('" y\r\n')])],
  ['NUL in a literal', Buffer.from('a LOGIN {3+}\r\na\0b pass\r\n')],
  ['endless line', Buffer.alloc(2_000_000, 'A')],
  ['bad base64 in AUTHENTICATE', Buffer.from('a AUTHENTICATE PLAIN\r\n!!!notbase64$$$\r\n')],
  ['AUTHENTICATE LOGIN then an endless line', Buffer.concat([Buffer.from('a AUTHENTICATE LOGIN\r\ndXNlcg==\r\n'), Buffer.alloc(200_000, 'B')])],
  ['pipelined garbage', Buffer.from(Array.from({ length: 50 }, (_, i) => `x${i} FROB ${i}\r\n`).join(''))],
  ['too many ID pairs', Buffer.from(`a ID (${'"k" "v" '.repeat(40)})\r\n`)],
  ['deep nesting', Buffer.from(`a ID ${'('.repeat(200)}\r\n`)],
  ['missing literal data', Buffer.from('a LOGIN {3}\r\nabc {3}\r\n')],
  ['CR-only line ends', Buffer.from('a NOOP\r'.repeat(3000))],
  ['many literals', Buffer.from(`a ID (${'{1+}\r\nk '.repeat(100)})\r\n`)],
  ['SASL-IR empty and padding games', Buffer.from('a AUTHENTICATE PLAIN =\r\nb AUTHENTICATE PLAIN ====\r\nc AUTHENTICATE PLAIN A\r\n')],
  ['8-bit tag and command', Buffer.from('\xc3\xa9 LOGIN a b\r\na L\xc3\xb6GIN a b\r\n', 'latin1')],
];

describe('fuzz: the running fronts', () => {
  let fronts: Fronts;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    fronts = await startFronts();
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await fronts?.stop();
  });

  for (const target of SOCKET_TARGETS) {
    it(`${target.name}: every case answered or closed with a goodbye, then a good login still works`, async () => {
      await fc.assert(target.property(fronts), fuzzParameters(target.defaultRuns));
      await target.goodLogin(fronts);
      expect(unhandled).toEqual([]);
    }, 120_000);
  }

  it.each(IMAP_ADVERSARIAL)('imap, by hand: %s', async (_label, input) => {
    await converse(imapConversation(fronts), [input], [1, 7, 8192, 300, 64_000]);
  });

  it('imap: early disconnects in every phase leave the server healthy', async () => {
    const openings = ['', 'a LOGIN {10}\r\n', 'a AUTHENTICATE PLAIN\r\n', 'a STARTTLS\r\n', 'a LOGIN alice@example.com wrong\r\n', 'a ID ("name" {5+}\r\nab'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...openings), fc.boolean(), fc.integer({ min: 0, max: 20 }), async (opening, waitGreeting, pause) => {
        const c = await RawImap.connect(fronts.imap.port);
        if (waitGreeting) await c.next(/^\* OK/);
        c.send(opening);
        if (pause > 0) await new Promise((r) => setTimeout(r, pause));
        c.destroy();
      }),
      fuzzParameters(30),
    );
    const probe = await RawImap.connect(fronts.imap.port);
    await probe.next(/^\* OK/);
    expect(await probe.command('p', 'NOOP')).toEqual(['p OK NOOP completed']);
    probe.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(fronts.env.daemon.registry.size).toBe(0);
  });

  it('no secret in any log line', () => {
    expect(fronts.logLines().length).toBeGreaterThan(100);
    expect(leakedLines(fronts.logLines()).map((l) => l.slice(0, 600))).toEqual([]);
  });
});
