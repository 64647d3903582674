/** Human output: aligned columns, local-looking dates, and the audit reasons in words. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** "2026-11-23 19:40:00Z (2 h ago)": the exact time for the record, the distance for the eye. */
export function when(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const exact = iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const at = Date.parse(iso);
  return Number.isNaN(at) ? exact : `${exact} (${relative(at - now)})`;
}

const STEPS: ReadonlyArray<[unit: string, ms: number]> = [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]];

/** "2 h ago, 2026-11-23 19:40:00Z": for inside a sentence that already has parentheses. */
function since(iso: string): string {
  return when(iso).replace(/^(.*) \((.*)\)$/, '$2, $1');
}

/** A signed distance in words: "just now", "5 min ago", "in 3 d". */
export function relative(deltaMs: number): string {
  const size = Math.abs(deltaMs);
  if (size < 1000) return 'just now';
  const [unit, ms] = STEPS.find(([, ms]) => size >= ms)!;
  const amount = `${Math.floor(size / ms)} ${unit}`;
  return deltaMs < 0 ? `${amount} ago` : `in ${amount}`;
}

const REASONS: Record<string, (device: string | null, since: string | null) => string> = {
  'malformed': () => 'malformed credentials',
  'unknown-address': () => 'unknown address',
  'wrong-password': () => 'wrong password',
  'revoked': (d, s) => `revoked device "${d}" still trying${s ? ` (revoked ${since(s)})` : ''}`,
  'reset-away': (d, s) => `previous password of "${d}" after a reset${s ? ` (reset ${since(s)})` : ''}`,
  'expired': (d) => `device "${d}" has expired`,
  'scope': (d) => `device "${d}" is not allowed for this protocol`,
  'generic-refused': () => 'generic password refused for this protocol ([auth] generic_protocols)',
  'throttled': () => 'throttled: the client network guessed too often at this address, or is out of hashes for now',
  'busy': () => 'busy: hash queue full',
  'internal': () => 'internal error',
};

export function describeReason(reason: string, device: string | null, since: string | null = null): string {
  return (REASONS[reason] ?? (() => reason))(device, since);
}
