/** SASL response lines: decoded by the module every front shares. */
export { decodeSaslResponse, type SaslResponse } from '../../sasl/response.js';
