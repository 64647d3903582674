import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DataEncoder } from '../../../src/smtp/data-encoder.js';

async function encode(chunks: string[]): Promise<{ out: string; endsWithLineBreak: boolean }> {
  const encoder = new DataEncoder();
  const parts: Buffer[] = [];
  encoder.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise((resolve) => encoder.on('end', resolve));
  Readable.from(chunks.map((c) => Buffer.from(c, 'latin1'))).pipe(encoder);
  await done;
  return { out: Buffer.concat(parts).toString('latin1'), endsWithLineBreak: encoder.endsWithLineBreak };
}

describe('DataEncoder', () => {
  it.each([
    ['plain CRLF text', ['a\r\nb\r\n'], 'a\r\nb\r\n', true],
    ['dot-stuffs a leading dot', ['.a\r\n..b\r\nc.d\r\n'], '..a\r\n...b\r\nc.d\r\n', true],
    ['a lone "." line cannot end the message', ['x\r\n.\r\ny\r\n'], 'x\r\n..\r\ny\r\n', true],
    ['bare LF becomes CRLF (no smuggled end of data)', ['x\n.\ny\n'], 'x\r\n..\r\ny\r\n', true],
    ['bare CR becomes CRLF', ['x\r.\ry'], 'x\r\n..\r\ny', false],
    ['CRLF split across chunks', ['x\r', '\n.y'], 'x\r\n..y', false],
    ['dot at a chunk start after a line break', ['x\r\n', '.y\r\n'], 'x\r\n..y\r\n', true],
    ['trailing CR at the very end', ['x\r'], 'x\r\n', true],
    ['empty message', [], '', true],
    ['no final line break', ['abc'], 'abc', false],
  ])('%s', async (_name, chunks, expected, endsWithLineBreak) => {
    await expect(encode(chunks)).resolves.toEqual({ out: expected, endsWithLineBreak });
  });

  it('keeps 8-bit bytes as they are', async () => {
    const bytes = Buffer.from([0xc3, 0xbc, 0x0d, 0x0a, 0x2e, 0xff]);
    const encoder = new DataEncoder();
    const out: Buffer[] = [];
    encoder.on('data', (c: Buffer) => out.push(c));
    encoder.end(bytes);
    await new Promise((r) => encoder.on('end', r));
    expect([...Buffer.concat(out)]).toEqual([0xc3, 0xbc, 0x0d, 0x0a, 0x2e, 0x2e, 0xff]);
  });
});
