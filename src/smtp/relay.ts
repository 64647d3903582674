import { isIPv6 } from 'node:net';
import type { Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import { unmapIpv4 } from '../net/networks.js';
import { replyText, type SmtpReply } from './reply.js';
import { SMTP_REPLIES, type FrontReply } from './replies.js';
import { UpstreamError } from '../net/upstream-error.js';
import { UpstreamClient, UpstreamRefusal, type UpstreamOptions } from './upstream-client.js';

export interface RelayConfig extends UpstreamOptions {
  /** Send XCLIENT LOGIN=… ADDR=… so the upstream records the login and the real client. */
  xclient: boolean;
}

/** Whose session it is, as the upstream should see it. */
export interface RelayIdentity {
  address: string;
  clientIp: string;
  /** The client's EHLO name: the upstream hears it again after XCLIENT. */
  clientName: string | null;
}

/** MAIL FROM parameters the client gave (smtp-server's parse, keys upper case). */
export type MailParams = Record<string, string | true> | false;

/** What to answer the client: the upstream's reply as it was, or one of ours. */
export type Verdict = FrontReply;

const OK: Verdict = { code: 250, text: 'OK' };

/**
 * One client session's connection to the upstream MTA: opened when the client
 * has logged in, with its identity handed over (XCLIENT), then used for
 * each transaction of that session — every RCPT passed through as it comes,
 * the message streamed, the final reply passed on. Every step answers with
 * the upstream's own code and text, or 451 4.4.1 when the upstream cannot be
 * reached or goes away (after which `usable` is false). Nothing here throws.
 */
export class Relay {
  readonly #client: UpstreamClient;
  #closed = false;
  /** A MAIL FROM was accepted and its transaction has not ended with a final DATA reply. */
  #inTransaction = false;
  /** SMTPUTF8 asked by the client and offered upstream: addresses go as they are. */
  #utf8 = false;

  private constructor(client: UpstreamClient) {
    this.#client = client;
  }

  /** Connects and hands over the identity. On refusal there is no relay, only the verdict for the client. */
  static async open(config: RelayConfig, identity: RelayIdentity): Promise<{ relay: Relay | null; verdict: Verdict }> {
    let client: UpstreamClient;
    try {
      client = await UpstreamClient.connect(config);
    } catch (err) {
      return { relay: null, verdict: toVerdict(err) };
    }
    const relay = new Relay(client);
    const verdict = await relay.#handover(config, identity);
    if (verdict.code >= 400) {
      relay.close();
      return { relay: null, verdict };
    }
    return { relay, verdict };
  }

  /** False once the connection failed or was closed: the session needs a new relay. */
  get usable(): boolean {
    return !this.#closed && this.#client.alive;
  }

  /** MAIL FROM; a transaction the client abandoned (RSET, a new EHLO, a refused step) is reset upstream first. */
  async mail(from: string, params: MailParams): Promise<Verdict> {
    return this.#step(async () => {
      if (this.#inTransaction) {
        const reset = await this.#client.command('RSET');
        if (reset.code >= 400) return answer(reset);
        this.#inTransaction = false;
      }
      // without SMTPUTF8 upstream, IDN domains go as A-labels
      this.#utf8 = params !== false && params.SMTPUTF8 === true && this.#client.supports('SMTPUTF8');
      const reply = await this.#client.command(`MAIL FROM:<${this.#address(from)}>${this.#mailParams(params)}`);
      this.#inTransaction = reply.code < 400;
      return answer(reply);
    });
  }

  async rcpt(address: string): Promise<Verdict> {
    return this.#step(async () => answer(await this.#client.command(`RCPT TO:<${this.#address(address)}>`)));
  }

  /** DATA, the streamed message, the final reply. `abort` (oversized, revoked) drops the message instead of committing it. */
  async data(message: Readable, abort: () => boolean): Promise<Verdict> {
    return this.#step(async () => {
      const go = await this.#client.command('DATA');
      if (go.code !== 354) return answer(go);
      const reply = await this.#client.message(message, abort);
      this.#inTransaction = false;
      return answer(reply);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.quit();
  }

  /** Abrupt end: an unfinished message is discarded by the upstream. */
  destroy(): void {
    this.#closed = true;
    this.#client.destroy();
  }

  async #handover(config: RelayConfig, identity: RelayIdentity): Promise<Verdict> {
    if (!config.xclient) return OK;
    return this.#step(async () => {
      if (!this.#client.supports('XCLIENT')) return SMTP_REPLIES.upstreamMisconfigured;
      const ip = unmapIpv4(identity.clientIp);
      const handover = await this.#client.xclient(
        { LOGIN: identity.address, ADDR: isIPv6(ip) ? `IPV6:${ip}` : ip, NAME: '[UNAVAILABLE]' },
        identity.clientName ?? config.heloName,
      );
      // a refused XCLIENT is the upstream's configuration, not the client's doing
      if (handover.code >= 400) return handover.code >= 500 ? SMTP_REPLIES.upstreamMisconfigured : answer(handover);
      return OK;
    });
  }

  #address(address: string): string {
    return this.#utf8 ? address : asciiDomain(address);
  }

  /** Only the parameters the upstream announced, so it never sees an extension it does not speak. */
  #mailParams(params: MailParams): string {
    if (!params) return '';
    let out = '';
    const body = params.BODY;
    if (typeof body === 'string' && /^(7BIT|8BITMIME)$/i.test(body) && this.#client.supports('8BITMIME')) out += ` BODY=${body.toUpperCase()}`;
    if (params.SMTPUTF8 === true && this.#client.supports('SMTPUTF8')) out += ' SMTPUTF8';
    if (typeof params.SIZE === 'string' && /^\d{1,20}$/.test(params.SIZE) && this.#client.supports('SIZE')) out += ` SIZE=${params.SIZE}`;
    return out;
  }

  async #step(run: () => Promise<Verdict>): Promise<Verdict> {
    if (this.#closed) return SMTP_REPLIES.upstreamUnavailable;
    try {
      return await run();
    } catch (err) {
      this.destroy();
      return toVerdict(err);
    }
  }
}

/**
 * The upstream's reply for our client. A 421 means the upstream is closing
 * the connection: it is treated as the upstream going away (451 4.4.1), since
 * passing it on would make our front drop a client who did nothing wrong.
 */
function answer(reply: SmtpReply): Verdict {
  if (reply.code === 421) throw new UpstreamError('unreachable', 'upstream is closing the connection');
  if (reply.code < 400) return { code: reply.code, text: replyText(reply) || OK.text };
  return { code: reply.code, text: replyText(reply) };
}

function toVerdict(err: unknown): Verdict {
  if (err instanceof UpstreamRefusal && err.reply.code !== 421) return answer(err.reply);
  return SMTP_REPLIES.upstreamUnavailable;
}

/** smtp-server shows IDN domains in Unicode; without SMTPUTF8 the upstream needs them as A-labels. */
function asciiDomain(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const domain = address.slice(at + 1);
  const ascii = domain.startsWith('[') ? domain : domainToASCII(domain);
  return `${address.slice(0, at + 1)}${ascii || domain}`;
}
