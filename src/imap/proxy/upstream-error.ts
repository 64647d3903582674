/**
 * Why the upstream session could not be opened. The IMAP front answers the
 * client NO [UNAVAILABLE] for all of them; the reason is for the log and metrics.
 * - unreachable: connect failed, or the upstream closed or reset the connection
 * - tls: the TLS handshake failed (certificate not trusted, name mismatch, no TLS)
 * - refused: the upstream refused the master login (or none is configured)
 * - protocol: the upstream said something an IMAP server should not
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
