/**
 * The command table: every command the front answers, one file each.
 * AUTHENTICATE is keyed by mechanism ("AUTHENTICATE PLAIN"), so an
 * unsupported mechanism is simply a missing key. Nothing outside this Map
 * is a live command.
 */
import { authenticateLogin } from './authenticate-login.js';
import { authenticatePlain } from './authenticate-plain.js';
import { capability } from './capability.js';
import { id } from './id.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { noop } from './noop.js';
import { starttls } from './starttls.js';
import type { CommandSpec } from './types.js';

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([
  ['CAPABILITY', capability],
  ['NOOP', noop],
  ['LOGOUT', logout],
  ['STARTTLS', starttls],
  ['LOGIN', login],
  ['AUTHENTICATE PLAIN', authenticatePlain],
  ['AUTHENTICATE LOGIN', authenticateLogin],
  ['ID', id],
]);

/** The mechanisms advertised as AUTH=…, from the table itself. */
export const SASL_MECHANISMS: readonly string[] = [...COMMANDS.keys()]
  .filter((key) => key.startsWith('AUTHENTICATE '))
  .map((key) => key.slice('AUTHENTICATE '.length));
