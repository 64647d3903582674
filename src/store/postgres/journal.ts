/**
 * The revocation journal as the writers see it: the rows a change adds, and
 * the rule that keeps sequence order equal to commit order.
 *
 * A follower reads `seq > last`. Sequences are handed out at insert time, so
 * two transactions could commit in the other order: the follower would read
 * the later seq first, move `last` past the earlier one and never see it.
 * Every transaction that writes journal rows therefore takes one exclusive
 * transaction-level advisory lock just before it inserts them (the last
 * statements before COMMIT, so it is held for a round trip or two): the next
 * writer draws its seq only after the previous one committed.
 */
import type pg from 'pg';

/** "dpjournl" in ASCII. */
export const JOURNAL_LOCK_KEY = 0x64706a6f75726e6cn.toString();
/**
 * "dpwrites": administrative changes hold it shared, a bulk import holds it
 * exclusive (it decides outcomes from a snapshot it read at its start).
 */
export const WRITE_LOCK_KEY = 0x6470777269746573n.toString();

export const JOURNAL_CHANNEL = 'devicepass_journal';

export interface JournalRow {
  address: string;
  deviceId: number | null;
  reason: string;
  cuts: boolean;
}

/** Inserts the rows in order and wakes the followers; returns the last seq (0: no rows). */
export async function writeJournal(client: pg.ClientBase, rows: readonly JournalRow[], at = Date.now()): Promise<number> {
  if (rows.length === 0) return 0;
  await client.query('SELECT pg_advisory_xact_lock($1)', [JOURNAL_LOCK_KEY]);
  let last = 0;
  for (let start = 0; start < rows.length; start += 10_000) {
    const slice = rows.slice(start, start + 10_000);
    const { rows: inserted } = await client.query<{ seq: number }>(
      `INSERT INTO revocation (at, address, device_id, reason, cuts)
        SELECT $1, address, device_id, reason, cuts
        FROM unnest($2::text[], $3::bigint[], $4::text[], $5::boolean[]) WITH ORDINALITY AS u(address, device_id, reason, cuts, ord)
        ORDER BY ord
        RETURNING seq`,
      [at, slice.map((r) => r.address), slice.map((r) => r.deviceId), slice.map((r) => r.reason), slice.map((r) => r.cuts)],
    );
    for (const row of inserted) last = Math.max(last, row.seq);
  }
  // a wake-up only: followers read the table (NOTIFY is delivered at commit, to connected listeners)
  await client.query('SELECT pg_notify($1, $2)', [JOURNAL_CHANNEL, String(last)]);
  return last;
}
