const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses "250ms", "2s", "10m", "12h", "30d", "1w" (or a bare number of seconds)
 * into milliseconds. Returns null for anything else so callers can report it
 * in their own terms.
 */
export function parseDuration(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text * 1000 : null;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(text);
  if (!match) return null;
  const value = Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
  return Number.isFinite(value) ? Math.round(value) : null;
}

/** The shortest text parseDuration reads back as `ms`: 3_600_000 → "1h", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of Object.entries(UNIT_MS).reverse()) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
