/**
 * The error catalogue of administration: every refusal the control socket
 * and the CLI can give, with a stable code, a default message and its exit
 * code. docs/errors.md lists the same table and a test keeps the two in step.
 *
 * It is one of three tiers, each the only source for its kind of answer:
 * - this catalogue: administrative refusals (control socket, CLI exit codes);
 * - errors/auth-replies.ts: a login's outcome on every wire (failed,
 *   temporary, throttled), so the fronts and the SASL service agree;
 * - each front's replies.ts (imap, pop3, smtp): what only that protocol says
 *   (BAD syntax, STARTTLS required, too many commands).
 * Nothing outside them writes a status code.
 */
export interface ErrorSpec {
  readonly message: string;
  /** Exit code of the `devicepass` CLI. */
  readonly exit: 1 | 2 | 3;
}

export const ERRORS = {
  ADDRESS_INVALID: { message: 'not a valid mail address', exit: 1 },
  ADDRESS_UNKNOWN: { message: 'no such address', exit: 1 },
  ADDRESS_EXISTS: { message: 'address already exists', exit: 1 },
  DEVICE_UNKNOWN: { message: 'no such device for this address', exit: 1 },
  DEVICE_REVOKED: { message: 'device is revoked', exit: 1 },
  NAME_INVALID: { message: 'device name must be 1 to 200 printable characters', exit: 1 },
  USER_INVALID: { message: 'user must be 1 to 200 printable characters', exit: 1 },
  SCOPES_INVALID: { message: 'scopes must be a comma-separated list of imap, smtp, pop3', exit: 1 },
  EXPIRES_INVALID: { message: 'expiry must be a duration like 7d or 12h, or a future ISO date', exit: 1 },
  PASSWORD_WEAK: { message: 'a chosen password needs at least 16 characters (spaces are not counted)', exit: 1 },
  PASSWORD_IN_USE: { message: 'this password is already in use by another device of the address', exit: 1 },
  GENERIC_NOT_RESETTABLE: { message: 'the generic password cannot be reset; add a device password instead', exit: 1 },
  GENERIC_REVOKED: { message: 'the generic password of this address was revoked for good', exit: 1 },
  HASH_INVALID: { message: 'not a supported password hash', exit: 1 },
  IMPORT_INVALID: { message: 'the passwd-file has invalid lines; nothing was imported', exit: 1 },
  CONFIRMATION_REQUIRED: { message: 'this removes credentials; repeat with --yes', exit: 1 },
  INVITE_UNKNOWN: { message: 'no such invitation for this address', exit: 1 },
  INVITE_CLOSED: { message: 'this invitation is no longer open', exit: 1 },
  AUTH_FAILED: { message: 'authentication failed', exit: 1 },
  AUTH_UNAVAILABLE: { message: 'authentication temporarily unavailable', exit: 1 },
  REQUEST_INVALID: { message: 'malformed request', exit: 2 },
  REQUEST_TOO_LARGE: { message: 'request too large', exit: 2 },
  OPERATION_UNKNOWN: { message: 'unknown operation', exit: 2 },
  BACKUP_FAILED: { message: 'the backup could not be written', exit: 1 },
  INTERNAL: { message: 'internal error', exit: 1 },
  DISK_FULL: { message: 'the disk holding the database is full; nothing was changed', exit: 1 },
  STORE_BUSY: { message: 'another process held the database write lock too long; nothing was changed, try again', exit: 1 },
  DAEMON_UNREACHABLE: { message: 'the devicepass daemon is not reachable', exit: 3 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** An expected refusal: carries its catalogue code and travels over the control socket as { code, message }. */
export class DevicepassError extends Error {
  override name = 'DevicepassError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERRORS[code].message);
    this.code = code;
    this.details = details;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

export function exitCodeFor(code: string): 1 | 2 | 3 {
  return isErrorCode(code) ? ERRORS[code].exit : 1;
}
