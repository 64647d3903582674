/**
 * The control socket speaks newline-delimited JSON: one request object per
 * line, one response per request, answered in order.
 *
 *   → {"id": 1, "op": "device.add", "args": {"address": "…", "name": "…"}}
 *   ← {"id": 1, "ok": true, "result": {…}}
 *   ← {"id": 1, "ok": false, "error": {"code": "ADDRESS_UNKNOWN", "message": "…"}}
 *
 * A success may carry `warnings`: caveats the caller must see (a change
 * committed that not every node confirmed); the CLI prints them on stderr.
 */
export interface ControlRequest {
  id?: number | string | null;
  op: string;
  args?: Record<string, unknown> | undefined;
  /** Who is asking, as the client names itself ("cli:alice"); recorded in the audit log. */
  actor?: string | undefined;
}

export interface ControlError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type ControlResponse =
  | { id: number | string | null; ok: true; result: unknown; warnings?: string[] }
  | { id: number | string | null; ok: false; error: ControlError };
