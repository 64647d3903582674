/**
 * Why a proxied session's upstream could not be opened. The fronts answer the
 * client "try later" for all of them (IMAP NO [UNAVAILABLE], POP3 -ERR
 * [SYS/TEMP]); the reason is for the log and metrics.
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

  constructor(reason: UpstreamErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
