/**
 * Property-based fuzzing of the POP3 front: the line framer against its
 * writer (lines in, the same lines out, however the bytes are chunked), the
 * command gate against arbitrary bytes, and a live front against random
 * sequences from a command dictionary over real sockets: every line gets a
 * well-formed answer or the connection ends with one, and nothing crashes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineFramer, LineTooLongError } from '../../../src/net/line-framer.js';
import { resolveCommand } from '../../../src/pop3/dispatch.js';
import { POP3_DICTIONARY, POP3_WELL_FORMED } from '../../helpers/fuzz/dictionaries.js';
import { RawImap as RawLines } from '../../helpers/imap-raw-client.js';
import { startPop3Env, type Pop3Env } from '../../helpers/pop3-env.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1212);

describe('POP3 parsing properties', () => {
  it('LineFramer returns exactly the lines written, whatever the chunking', () => {
    const line = fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b.filter((x) => x !== 0x0a && x !== 0x0d)));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }), (lines, cuts) => {
        const wire = Buffer.concat(lines.map((l) => Buffer.concat([l, Buffer.from('\r\n')])));
        const framer = new LineFramer(1024);
        const out: Buffer[] = [];
        let at = 0;
        for (let i = 0; at < wire.length; i++) {
          const size = cuts[i % cuts.length]!;
          framer.push(wire.subarray(at, at + size));
          at += size;
          for (let l = framer.next(); l; l = framer.next()) out.push(l);
        }
        expect(out.map((b) => b.toString('hex'))).toEqual(lines.map((b) => b.toString('hex')));
        expect(framer.buffered).toBe(0);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('LineFramer never holds more than its limit without a line end', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 30 }), (chunks) => {
        const framer = new LineFramer(256);
        try {
          for (const chunk of chunks) {
            framer.push(Buffer.from(chunk));
            for (let l = framer.next(); l; l = framer.next()) expect(l.length).toBeLessThan(256);
            expect(framer.buffered).toBeLessThan(256);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(LineTooLongError);
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('the command gate answers any bytes with a command or a -ERR, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const found = resolveCommand(Buffer.from(bytes), 'authorization');
        if ('spec' in found) expect(found.key).toMatch(/^(CAPA|STLS|USER|PASS|AUTH|AUTH PLAIN|AUTH LOGIN|NOOP|QUIT)$/);
        else expect(found.ok).toBe(false);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

describe('POP3 front under random commands (real sockets)', () => {
  let env: Pop3Env;
  beforeAll(async () => {
    env = await startPop3Env({ pop3: { max_bad_commands: 1000, max_auth_failures: 1000 } });
  });
  afterAll(async () => env?.stop());

  it('answers every case, with well-formed lines only, and stays up', async () => {
    const sequence = fc.array(fc.oneof(fc.constantFrom(...POP3_DICTIONARY), fc.string({ maxLength: 40 })), { minLength: 1, maxLength: 12 });
    const cases = fc.sample(fc.tuple(sequence, fc.boolean()), { seed: SEED, numRuns: 150 });
    for (const [words, crlf] of cases) {
      const c = await RawLines.connect(env.plainPort);
      await c.next(/^\+OK/);
      const payload = words.map((w) => `${w}${crlf ? '\r\n' : '\n'}`).join('');
      // the first bytes never look like a PROXY header here: that closes without a word, by design
      c.send(`NOOP\r\n${payload}`);
      // ends a SASL exchange left open, then a sentinel that must be answered unless the server said goodbye
      c.send('*\r\nNOOP\r\nQUIT\r\n');
      await c.waitClosed(10_000);
      for (const line of c.lines) expect(line).toMatch(POP3_WELL_FORMED);
      const last = c.lines.at(-1)!;
      // QUIT's answer, a goodbye, or STLS's: plaintext sent behind STLS closes without a word (it cannot be answered in TLS)
      expect(['+OK devicepass signing off', '+OK Begin TLS negotiation now'].includes(last) || last.startsWith('-ERR')).toBe(true);
    }
    // still serving
    const probe = await RawLines.connect(env.plainPort);
    expect(await probe.next(/^\+OK/)).toBe('+OK devicepass ready.');
    probe.destroy();
  }, 120_000);
});
