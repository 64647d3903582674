import { SASL_MECHANISMS } from './commands/index.js';

export interface CapabilityState {
  /** A plaintext listener that has not upgraded yet. */
  readonly startTlsAvailable: boolean;
  /** TLS is active or the client is in trusted networks. */
  readonly credentialsAllowed: boolean;
}

/**
 * Pre-login capabilities (RFC 9051 7.2.2). LITERAL- rather than LITERAL+:
 * nothing before login needs a non-synchronizing literal over 4 KiB, and
 * LITERAL- lets the reader refuse bigger ones without reading them. Where
 * plaintext credentials are refused (untrusted client, no TLS yet),
 * LOGINDISABLED replaces the AUTH= list, as RFC 9051 6.2.3 asks.
 */
export function preLoginCapabilities(state: CapabilityState): string[] {
  const caps = ['IMAP4rev1', 'LITERAL-', 'SASL-IR', 'ID'];
  if (state.startTlsAvailable) caps.push('STARTTLS');
  if (state.credentialsAllowed) caps.push(...SASL_MECHANISMS.map((m) => `AUTH=${m}`));
  else caps.push('LOGINDISABLED');
  return caps;
}
