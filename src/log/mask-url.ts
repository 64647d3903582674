/**
 * A connection URL as logs, errors, `status` and `devicepassd --check-config`
 * may show it: the one place that decides what of [store] url is secret.
 */

const MASK = '***';
/** Query parameters libpq and pg read as secrets (sslkey names the client key: not shown either). */
const SECRET_PARAMS = /^(password|sslpassword|sslkey)$/i;
/** scheme://user[:anything up to the last @]@rest: an unparsable URL's userinfo, which may hold a password. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*)(:.*)?@([^@]*)$/is;

/** TEXT with the password in its userinfo and in its query replaced by "***"; what cannot be parsed shows no more than is safe. */
export function maskUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = MASK;
    for (const key of [...url.searchParams.keys()]) {
      if (SECRET_PARAMS.test(key)) url.searchParams.set(key, MASK);
    }
    return url.toString();
  } catch {
    return maskUnparsable(text);
  }
}

/**
 * pg also takes what WHATWG URL refuses (`postgres://u:pw@/db`, a socket
 * path): show its shape, never a part that may be a password.
 */
function maskUnparsable(text: string): string {
  if (text === '') return '';
  // key=value pairs: any of them may be the password
  if (text.includes('=')) return '(a connection string)';
  // no userinfo, so no password: a socket path or a bare host
  if (!text.includes('@')) return text;
  const parts = USERINFO.exec(text);
  if (!parts) return '(unparsable URL)';
  const [, head, password, rest] = parts;
  return `${head}${password === undefined ? '' : `:${MASK}`}@${rest}`;
}
