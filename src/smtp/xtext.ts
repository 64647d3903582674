/**
 * xtext (RFC 3461 4): printable ASCII except "+" and "=" stays, every other byte
 * becomes "+XX". XCLIENT attribute values are xtext, so a login or an EHLO name
 * can never smuggle a space, a CR/LF or another attribute into the command.
 */
export function encodeXtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte >= 0x21 && byte <= 0x7e && byte !== 0x2b && byte !== 0x3d ? String.fromCharCode(byte) : `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
