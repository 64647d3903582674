import { SASL_MECHANISMS } from './commands/index.js';

export interface CapabilityState {
  /** A plaintext listener that has not upgraded yet. */
  readonly startTlsAvailable: boolean;
  /** TLS is active or the client is in trusted networks. */
  readonly credentialsAllowed: boolean;
}

/**
 * RFC 2449 CAPA before login. TOP, UIDL and PIPELINING are what the
 * upstream (Dovecot) serves after login; RESP-CODES and AUTH-RESP-CODE
 * (RFC 3206) are ours too. USER and SASL appear only where plaintext
 * credentials are accepted, as RFC 2595 §4 asks.
 */
export function preLoginCapabilities(state: CapabilityState): string[] {
  const caps = ['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE'];
  if (state.startTlsAvailable) caps.push('STLS');
  if (state.credentialsAllowed) caps.push('USER', `SASL ${SASL_MECHANISMS.join(' ')}`);
  return caps;
}
