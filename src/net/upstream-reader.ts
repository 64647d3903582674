import type { Socket } from 'node:net';
import { UpstreamError } from './upstream-error.js';

/** Unread bytes held while waiting for a response; a server sending more before we ask is broken. */
const MAX_BUFFERED = 256 * 1024;

/** Cuts one protocol's responses out of socket bytes, only when asked. */
export interface ResponseFramer<R> {
  push(chunk: Buffer): void;
  /** The next whole response, or null when more bytes are needed; throws on input no server should send. */
  next(): R | null;
  /** The bytes not yet framed. */
  rest(): Buffer;
  readonly buffered: number;
}

/**
 * One upstream socket during the master login, for any line protocol: reads
 * responses one at a time with a deadline each, and on release hands every
 * unread byte back to the socket (unshift), so the relay that takes over
 * sees the stream exactly as it continues after the last response read here.
 */
export class UpstreamReader<R> {
  readonly socket: Socket;
  readonly #reader: ResponseFramer<R>;
  /** Which of the framer's errors mean "the upstream sent garbage" (anything else is our bug and propagates). */
  readonly #isFramingError: (err: unknown) => boolean;
  #failure: UpstreamError | null = null;
  #wake: (() => void) | null = null;
  // 'readable' rather than 'data': once its listener is gone the socket is back in its initial mode,
  // so whoever takes it over starts it just by listening for 'data' or piping (after pause() it would not)
  readonly #onReadable = () => {
    for (let chunk = this.socket.read() as Buffer | null; chunk !== null; chunk = this.socket.read() as Buffer | null) this.#reader.push(chunk);
    if (this.#reader.buffered > MAX_BUFFERED) this.#fail(new UpstreamError('protocol', 'upstream sent more than it was asked for'));
    this.#notify();
  };
  readonly #onError = (err: NodeJS.ErrnoException) => {
    this.#fail(new UpstreamError('unreachable', `upstream connection failed: ${err.code ?? err.message}`, { cause: err }));
  };
  readonly #onClose = () => this.#fail(new UpstreamError('unreachable', 'upstream closed the connection during login'));

  constructor(socket: Socket, framer: ResponseFramer<R>, isFramingError: (err: unknown) => boolean) {
    this.socket = socket;
    this.#reader = framer;
    this.#isFramingError = isFramingError;
    socket.on('readable', this.#onReadable);
    socket.on('error', this.#onError);
    socket.on('end', this.#onClose);
    socket.on('close', this.#onClose);
  }

  /** The next response; `step` names what we wait for in errors ("greeting", "STARTTLS", …). */
  async read(step: string, timeoutMs: number): Promise<R> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let response: R | null;
      try {
        response = this.#reader.next();
      } catch (err) {
        if (!this.#isFramingError(err)) throw err;
        throw new UpstreamError('protocol', `upstream ${step}: ${(err as Error).message}`);
      }
      if (response) return response;
      if (this.#failure) throw this.#failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new UpstreamError('timeout', `upstream did not answer ${step} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** Unread bytes so far (STARTTLS must have none: anything sent before the handshake could be injected). */
  get buffered(): number {
    return this.#reader.buffered;
  }

  /** Whether the upstream closed, failed or broke the protocol since this reader started. */
  get failed(): boolean {
    return this.#failure !== null;
  }

  /** Stops reading and gives the unread bytes back to the socket; they are the first it emits to the next reader. */
  release(): Socket {
    const { socket } = this;
    socket.off('readable', this.#onReadable);
    socket.off('error', this.#onError);
    socket.off('end', this.#onClose);
    socket.off('close', this.#onClose);
    const rest = this.#reader.rest();
    if (rest.length > 0) socket.unshift(rest);
    return socket;
  }

  #fail(err: UpstreamError): void {
    this.#failure ??= err;
    this.#notify();
  }

  #notify(): void {
    this.#wake?.();
  }
}
