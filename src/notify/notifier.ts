import nodemailer, { type Transporter } from 'nodemailer';
import type { DeviceChange } from '../credentials/admin.js';
import type { Logger } from '../log/logger.js';
import { noticeFor, type Notice } from './message.js';

export interface NotifierOptions {
  from: string;
  upstream: { host: string; port: number; tls: 'none' | 'starttls' | 'implicit' };
  /** First wait after a temporary failure; doubles with each further one. */
  retryDelayMs: number;
  maxAttempts: number;
  queueMax: number;
  log: Logger;
}

interface Job {
  notice: Notice;
  attempts: number;
}

/** A refusal the MTA may lift later (4xx) or no answer at all (connection failure, timeout). */
function isTemporary(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code !== 'number' || (code >= 400 && code < 500);
}

/**
 * New-device notices, sent from the daemon through the SMTP upstream. The
 * admin command only queues one; sending happens after, one at a time, and a
 * temporary failure is retried with a doubling delay. The queue is bounded:
 * past queue_max the oldest notice is dropped with a warning.
 */
export class Notifier {
  readonly #o: NotifierOptions;
  readonly #queue: Job[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #transport: Transporter;
  #sending = false;
  #stopped = false;
  readonly counts = { sent: 0, failed: 0, retried: 0 };

  constructor(options: NotifierOptions) {
    this.#o = options;
    const { host, port, tls } = options.upstream;
    this.#transport = nodemailer.createTransport({
      host, port, secure: tls === 'implicit', requireTLS: tls === 'starttls', ignoreTLS: tls === 'none',
      connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000,
    });
  }

  /** Queues the notice for a device change; returns at once. */
  deviceChanged(change: DeviceChange): void {
    if (this.#stopped) return;
    if (this.#queue.length >= this.#o.queueMax) {
      const dropped = this.#queue.shift()!;
      this.#o.log.warn({ to: dropped.notice.to }, 'notice queue full: dropped the oldest notice');
    }
    this.#queue.push({ notice: noticeFor(change), attempts: 0 });
    setImmediate(() => void this.#pump());
  }

  get pending(): number {
    return this.#queue.length + this.#timers.size;
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#transport.close();
  }

  async #pump(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (!this.#stopped && this.#queue.length > 0) await this.#send(this.#queue.shift()!);
    } finally {
      this.#sending = false;
    }
  }

  async #send(job: Job): Promise<void> {
    job.attempts++;
    try {
      await this.#transport.sendMail({
        from: this.#o.from, to: job.notice.to, subject: job.notice.subject, text: job.notice.text,
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
      this.counts.sent++;
      this.#o.log.info({ to: job.notice.to, attempts: job.attempts }, 'notice sent');
    } catch (err) {
      const message = (err as Error).message;
      if (!isTemporary(err) || job.attempts >= this.#o.maxAttempts) {
        this.counts.failed++;
        this.#o.log.error({ to: job.notice.to, attempts: job.attempts, error: message }, 'notice not sent');
        return;
      }
      this.counts.retried++;
      const delay = this.#o.retryDelayMs * 2 ** (job.attempts - 1);
      this.#o.log.warn({ to: job.notice.to, attempts: job.attempts, retryInMs: delay, error: message }, 'notice deferred');
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#queue.push(job);
        void this.#pump();
      }, delay);
      timer.unref();
      this.#timers.add(timer);
    }
  }
}
