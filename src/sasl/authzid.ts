import { normalizeAddress } from '../credentials/address.js';

/**
 * RFC 4616: PLAIN may name an authorization identity, the account to act
 * as. A device password grants its own address and nothing else, so the
 * authzid must be empty or the login itself, compared as addresses are
 * everywhere in devicepass (case and Unicode form folded). Every front and
 * the Dovecot SASL service ask this one question.
 */
export function authzidPermitted(authzid: string | Buffer, authcid: string | Buffer): boolean {
  const asked = text(authzid);
  if (asked === '') return true;
  const login = text(authcid);
  // what is not an address at all is only ever the login itself, exactly (as UTF-8 text)
  return (normalizeAddress(asked) ?? asked) === (normalizeAddress(login) ?? login);
}

function text(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}
