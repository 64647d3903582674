/**
 * One fuzz case against a live front, the way Dovecot's fuzz-smtp-server
 * drives a real connection: connect, wait for the greeting, send the case in
 * chunks, then bytes that end whatever the case left half-open, then a
 * sentinel command. The server must answer the sentinel, or close after
 * saying goodbye in its own protocol; silence past the bound is a hang.
 */
import assert from 'node:assert/strict';
import { cut } from './wire.js';
import { Probe, type Endpoint } from './probe.js';

export interface Conversation {
  endpoint: Endpoint;
  /** True once the greeting is in (fronts that speak first). */
  greeted?(text: string): boolean;
  /** Sent once after the greeting, before the cases (a login, to fuzz what follows it); `done` says it succeeded. */
  prelude?: { send: string; done(text: string): boolean };
  /** Ends any literal, continuation or long line the case may have left open. */
  flush: Buffer | string;
  sentinel: Buffer | string;
  /** True once the answer to the sentinel is in. */
  answered(text: string): boolean;
  /** True when the server's last words justify the close that follows (BYE, 421, an HTTP response…): the close must then come. */
  goodbye(text: string): boolean;
  /** True when the answer ends what this connection can do in plaintext (the go-ahead for STARTTLS): no further case follows. */
  final?(text: string): boolean;
  /** True when a close without a word is the protocol's own answer to a broken client (the Dovecot auth protocol). */
  hangUpAnswers?: boolean;
  /** The parts of the output that are not well-formed protocol (empty when all are). */
  malformed(text: string): string[];
  /** Half-close after sending: for protocols that answer a request once the client is done (HTTP). */
  endAfterSending?: boolean;
}

/** Bound on every wait: a case that is neither answered nor closed in this time is a hang. */
export const CASE_TIMEOUT_MS = 5_000;

export interface CaseResult {
  outcome: 'answered' | 'closed';
  /** What the server sent during this case. */
  text: string;
}

/**
 * Runs the cases one after the other on one connection (state a case leaves
 * behind is part of what the next one meets); stops early when the server
 * closed. Throws (an assertion or HangError) when a property is broken.
 * `answered` and `goodbye` see only what the server sent during that case.
 */
export async function converse(c: Conversation, inputs: readonly Buffer[], sizes: readonly number[]): Promise<CaseResult[]> {
  const probe = await Probe.connect(c.endpoint);
  const results: CaseResult[] = [];
  try {
    if (c.greeted) {
      const greeting = await probe.until(c.greeted, CASE_TIMEOUT_MS);
      assert.equal(greeting, 'matched', `closed before the greeting: ${JSON.stringify(probe.text())}`);
    }
    if (c.prelude) {
      probe.send(c.prelude.send);
      const done = await probe.until(c.prelude.done, CASE_TIMEOUT_MS);
      assert.equal(done, 'matched', `the prelude failed: ${JSON.stringify(probe.text().slice(-600))}`);
    }
    for (const input of inputs) {
      const mark = probe.text().length;
      const since = (t: string) => t.slice(mark);
      probe.sendAll(cut(input, sizes));
      probe.send(c.flush);
      probe.send(c.sentinel);
      if (c.endAfterSending) probe.end();
      const outcome = await probe.until((t) => c.answered(since(t)), CASE_TIMEOUT_MS);
      const text = since(probe.text());
      if (outcome === 'closed') {
        assert.ok(c.hangUpAnswers || c.goodbye(text), `closed without an answer or a goodbye; received ${JSON.stringify(text.slice(-600))}`);
      } else if (c.goodbye(text) && !probe.closed) {
        // a goodbye promises a close: it must come, within the bound
        await probe.closedWithin(CASE_TIMEOUT_MS);
      }
      results.push({ outcome: outcome === 'matched' ? 'answered' : 'closed', text: since(probe.text()) });
      if (probe.closed || c.final?.(text)) break;
    }
    const bad = c.malformed(probe.text());
    assert.deepEqual(bad, [], `malformed output: ${JSON.stringify(bad.slice(0, 3))}`);
    return results;
  } finally {
    probe.destroy();
  }
}

/** Lines of `text` ended by CRLF (or LF); the unfinished tail is left out. */
export function completeLines(text: string, eol: '\r\n' | '\n' = '\r\n'): string[] {
  const parts = text.split(eol);
  parts.pop();
  return parts;
}
