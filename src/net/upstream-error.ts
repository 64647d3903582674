/**
 * Why a proxied session's upstream could not be opened. The fronts answer the
 * client "try later" for all of them (IMAP NO [UNAVAILABLE], POP3 -ERR
 * [SYS/TEMP]) except a refusal about the mailbox itself, which POP3 passes on
 * by its response code ([IN-USE], [LOGIN-DELAY]); the reason is for the log
 * and metrics.
 * - unreachable: connect failed, or the upstream closed or reset the connection
 * - tls: the TLS handshake failed (certificate not trusted, name mismatch, no TLS)
 * - refused: the upstream refused the master login (or none is configured)
 * - protocol: the upstream said something a mail server should not
 * - timeout: connect or one login step took too long
 */
export type UpstreamErrorReason = 'unreachable' | 'tls' | 'refused' | 'protocol' | 'timeout';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly reason: UpstreamErrorReason;
  /**
   * The response code the upstream's refusal carried, upper-cased, without
   * brackets (POP3's RFC 2449 codes: IN-USE, LOGIN-DELAY, AUTH, SYS/PERM…);
   * null when there was none. A front decides from it what the client hears.
   */
  readonly responseCode: string | null;

  constructor(reason: UpstreamErrorReason, message: string, options?: { cause?: unknown; responseCode?: string | null }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.responseCode = options?.responseCode ?? null;
  }
}
