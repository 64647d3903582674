import {
  CommandReader, decodeSaslResponse, isParseError, parseCommand,
  type LineReaderOptions, type ReaderItem,
} from '../../src/imap/parser/index.js';

/**
 * Stands in for the connection: drains after every chunk and, like the real
 * server will, switches to raw-line mode after an AUTHENTICATE without an
 * initial response, and back after the raw line.
 */
export class Driver {
  readonly reader: CommandReader;
  readonly items: ReaderItem[] = [];
  /** Largest bufferedBytes seen right after a push, and right after draining. */
  maxAfterPush = 0;
  maxAfterDrain = 0;

  constructor(options: LineReaderOptions = {}) {
    this.reader = new CommandReader(options);
  }

  feed(chunk: Buffer): this {
    this.reader.push(chunk);
    this.maxAfterPush = Math.max(this.maxAfterPush, this.reader.bufferedBytes);
    for (let item = this.reader.read(); item !== undefined; item = this.reader.read()) {
      this.items.push(item);
      if (item.kind === 'command') {
        const parsed = parseCommand(item.line, item.literals);
        if (!isParseError(parsed) && parsed.command === 'AUTHENTICATE' && parsed.attributes.length === 1) {
          this.reader.expectRawLine();
        }
      } else if (item.kind === 'raw') {
        decodeSaslResponse(item.line);
      }
    }
    this.maxAfterDrain = Math.max(this.maxAfterDrain, this.reader.bufferedBytes);
    return this;
  }

  feedAll(chunks: Iterable<Buffer>): this {
    for (const c of chunks) this.feed(c);
    return this;
  }
}

