/**
 * Writing audit events, shared by the administrative transactions, the
 * invitations and the login-record sink: plain rows in one statement per
 * batch, failure aggregates merged into their row by window_key.
 */
import type pg from 'pg';
import type { AuditEvent } from '../types.js';

/** Client networks a merged failure aggregate lists (the recorder lists at most this many per process too). */
export const MERGED_NETWORKS = 8;

type Queryable = Pick<pg.ClientBase, 'query'>;

/** PostgreSQL text and jsonb cannot hold NUL; a client name or ID string may (it is someone else's input). */
const NUL = /\u0000/g;
function clean(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  return value.includes('\u0000') ? value.replace(NUL, '\uFFFD') : value;
}
function cleanDetail(detail: Record<string, unknown> | null | undefined): string | null {
  if (!detail) return null;
  return JSON.stringify(detail, cleaning);
}

/** The 13 columns every event row has, in INSERT order. */
function values(e: AuditEvent): unknown[] {
  return [
    e.at, e.lastAt ?? e.at, e.count ?? 1, clean(e.type), clean(e.address), e.deviceId ?? null, clean(e.deviceName), clean(e.reason),
    clean(e.protocol), clean(e.ip), clean(e.client), clean(e.actor), cleanDetail(e.detail),
  ];
}

const COLUMNS = 'at, last_at, count, type, address, device_id, device_name, reason, protocol, ip, client, actor, detail';

const INSERT_ONE = `INSERT INTO event (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)`;

/** Many rows in one round trip, in the order given (ids follow it): one array per column. */
const INSERT_MANY = `INSERT INTO event (${COLUMNS})
  SELECT ${COLUMNS} FROM unnest(
    $1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[]
  ) WITH ORDINALITY AS x(${COLUMNS}, ord)
  ORDER BY ord`;

const networksOf = (row: string) =>
  `CASE WHEN jsonb_typeof(${row}.detail -> 'networks') = 'array' THEN ${row}.detail -> 'networks' ELSE '[]'::jsonb END`;
const flagged = (row: string) => `coalesce(${row}.detail -> 'moreNetworks' = 'true'::jsonb, false)`;

/**
 * A failure aggregate seen again (a later batch, another node): counts add
 * up, the window widens, the client networks merge first seen first, capped,
 * and moreNetworks says some were left out. The new row's detail wins for
 * every other key, as in SQLite.
 */
const MERGE = `INSERT INTO event (${COLUMNS}, window_key)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14)
  ON CONFLICT (window_key) WHERE window_key IS NOT NULL DO UPDATE SET
    count = event.count + EXCLUDED.count,
    at = least(event.at, EXCLUDED.at),
    last_at = greatest(event.last_at, EXCLUDED.last_at),
    detail = coalesce(EXCLUDED.detail, '{}'::jsonb) || (
      WITH seen AS (
        SELECT value, ord FROM jsonb_array_elements(${networksOf('event')}) WITH ORDINALITY AS o(value, ord)
        UNION ALL
        SELECT value, ord + 1000000 FROM jsonb_array_elements(${networksOf('EXCLUDED')}) WITH ORDINALITY AS n(value, ord)
      ), firsts AS (
        SELECT value, min(ord) AS first FROM seen GROUP BY value
      )
      SELECT jsonb_build_object(
        'networks', coalesce((SELECT jsonb_agg(value ORDER BY first) FROM (
          SELECT value, first FROM firsts ORDER BY first LIMIT ${MERGED_NETWORKS}) kept), '[]'::jsonb),
        'moreNetworks', ${flagged('event')} OR ${flagged('EXCLUDED')} OR (SELECT count(*) FROM firsts) > ${MERGED_NETWORKS})
    )`;

/** One event (an administrative change's, inside its transaction). */
export async function insertEvent(db: Queryable, event: AuditEvent): Promise<void> {
  if (event.windowKey !== undefined) await db.query(MERGE, [...values(event), event.windowKey]);
  else await db.query(INSERT_ONE, values(event));
}

/** Many events: the plain ones in one statement, then each aggregate merged (sorted by key, so two nodes lock rows in one order). */
export async function insertEvents(db: Queryable, events: readonly AuditEvent[]): Promise<void> {
  const plain = events.filter((e) => e.windowKey === undefined);
  if (plain.length === 1) await db.query(INSERT_ONE, values(plain[0]!));
  else if (plain.length > 1) await db.query(INSERT_MANY, columns(plain));
  const merged = events.filter((e) => e.windowKey !== undefined).sort((a, b) => (a.windowKey! < b.windowKey! ? -1 : a.windowKey! > b.windowKey! ? 1 : 0));
  for (const event of merged) await db.query(MERGE, [...values(event), event.windowKey]);
}

/** The plain events column by column, as INSERT_MANY reads them. */
function columns(events: readonly AuditEvent[]): unknown[][] {
  const out: unknown[][] = Array.from({ length: 13 }, () => new Array<unknown>(events.length));
  events.forEach((event, row) => {
    const v = values(event);
    for (let column = 0; column < 13; column++) out[column]![row] = v[column];
  });
  return out;
}

function cleaning(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? clean(value) : value;
}
