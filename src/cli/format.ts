/** Human output: aligned columns, local-looking dates, and the audit reasons in words. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

const REASONS: Record<string, (device: string | null, since: string | null) => string> = {
  'malformed': () => 'malformed credentials',
  'unknown-address': () => 'unknown address',
  'wrong-password': () => 'wrong password',
  'revoked': (d, s) => `revoked device "${d}" still trying${s ? ` (revoked ${when(s)})` : ''}`,
  'reset-away': (d, s) => `previous password of "${d}" after a reset${s ? ` (reset ${when(s)})` : ''}`,
  'expired': (d) => `device "${d}" has expired`,
  'scope': (d) => `device "${d}" is not allowed for this protocol`,
  'throttled': () => 'throttled: the client network guessed too often at this address, or is out of hashes for now',
  'busy': () => 'busy: hash queue full',
  'internal': () => 'internal error',
};

export function describeReason(reason: string, device: string | null, since: string | null = null): string {
  return (REASONS[reason] ?? (() => reason))(device, since);
}
