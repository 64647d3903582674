/** The Postfix launcher lives under scripts/ so the benchmark can use it too. */
export { POSTFIX_DOMAINS, POSTFIX_REFUSED_RECIPIENT, postfixInstalled, startPostfix, type PostfixInstance } from '../../../scripts/e2e/postfix.js';
