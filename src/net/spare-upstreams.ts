/**
 * Upstream connections opened ahead of the logins that will use them: each
 * one connected, through TLS where configured, its greeting read, nothing
 * sent. A login that takes one skips the connect and the greeting and pays
 * only for its own commands. They are opened only after a login succeeded
 * (a failed guess never makes devicepass touch the upstream), at most `max`
 * at a time, and closed after `idleMs` unused, so an idle daemon holds
 * nothing open for long and the upstream's own pre-login timeout never
 * fires on one.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';

export interface SpareConnection {
  /** The outermost socket (TLS when there is TLS). */
  readonly socket: Socket;
  /** Every layer, the TCP socket first. */
  readonly sockets: readonly Socket[];
  /** False once anything but silence came from the upstream since the greeting. */
  usable(): boolean;
  /** Closes every layer. */
  destroy(): void;
}

export interface SpareOptions {
  max: number;
  idleMs: number;
}

interface Parked<K, S> {
  spare: S;
  /** What the spare was opened for (the upstream's config section): a reload that changes it makes the spare useless. */
  key: K;
  timer: NodeJS.Timeout;
  onGone: () => void;
}

export class SpareUpstreams<K, S extends SpareConnection> {
  readonly #open: (key: K) => Promise<S>;
  readonly #options: SpareOptions;
  readonly #log: Logger;
  readonly #parked: Array<Parked<K, S>> = [];
  #opening = 0;
  #closed = false;

  constructor(open: (key: K) => Promise<S>, options: SpareOptions, log: Logger) {
    this.#open = open;
    this.#options = options;
    this.#log = log;
  }

  /** A usable spare opened for `key`, now the caller's; null when none is ready. */
  take(key: K): S | null {
    for (let parked = this.#parked.shift(); parked; parked = this.#parked.shift()) {
      this.#unpark(parked);
      if (parked.key === key && parked.spare.usable()) return parked.spare;
      parked.spare.destroy();
    }
    return null;
  }

  /** After a successful login: opens one more spare for `key` if fewer than `max` are ready or on their way. */
  replenish(key: K): void {
    if (this.#closed || this.#parked.length + this.#opening >= this.#options.max) return;
    this.#opening++;
    this.#open(key).then(
      (spare) => {
        this.#opening--;
        if (this.#closed) spare.destroy();
        else this.#park(spare, key);
      },
      (err: unknown) => {
        this.#opening--;
        // the next login opens its own connection and reports the upstream's trouble with its name on it
        this.#log.debug({ err: { message: (err as Error).message } }, 'could not open a spare upstream connection');
      },
    );
  }

  get ready(): number {
    return this.#parked.length;
  }

  close(): void {
    this.#closed = true;
    for (const parked of this.#parked.splice(0)) {
      this.#unpark(parked);
      parked.spare.destroy();
    }
  }

  #park(spare: S, key: K): void {
    const parked: Parked<K, S> = {
      spare,
      key,
      timer: setTimeout(() => this.#drop(parked), this.#options.idleMs),
      onGone: () => this.#drop(parked),
    };
    parked.timer.unref();
    // a spare must not keep the process alive, nor outlive the upstream closing it
    for (const socket of spare.sockets) socket.unref();
    spare.socket.once('close', parked.onGone);
    this.#parked.push(parked);
  }

  #unpark(parked: Parked<K, S>): void {
    clearTimeout(parked.timer);
    parked.spare.socket.off('close', parked.onGone);
    for (const socket of parked.spare.sockets) socket.ref();
  }

  #drop(parked: Parked<K, S>): void {
    const at = this.#parked.indexOf(parked);
    if (at < 0) return;
    this.#parked.splice(at, 1);
    this.#unpark(parked);
    parked.spare.destroy();
  }
}
