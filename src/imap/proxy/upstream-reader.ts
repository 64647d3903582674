import type { Socket } from 'node:net';
import { UpstreamReader as LineProtocolReader } from '../../net/upstream-reader.js';
import { ResponseFramingError, ResponseReader, type ServerResponse } from './response-reader.js';

/** The shared upstream reader, framing IMAP responses. */
export class UpstreamReader extends LineProtocolReader<ServerResponse> {
  constructor(socket: Socket) {
    super(socket, new ResponseReader(), (err) => err instanceof ResponseFramingError);
  }
}
