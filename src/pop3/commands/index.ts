/**
 * The command table: every command the front answers, one file each. AUTH
 * is keyed by mechanism ("AUTH PLAIN"; bare "AUTH" lists them), so an
 * unsupported mechanism is simply a missing key. Nothing outside this Map
 * is a live command.
 */
import { authList } from './auth-list.js';
import { authLogin } from './auth-login.js';
import { authPlain } from './auth-plain.js';
import { capa } from './capa.js';
import { noop } from './noop.js';
import { pass } from './pass.js';
import { quit } from './quit.js';
import { stls } from './stls.js';
import type { CommandSpec } from './types.js';
import { user } from './user.js';

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([
  ['CAPA', capa],
  ['STLS', stls],
  ['USER', user],
  ['PASS', pass],
  ['AUTH', authList],
  ['AUTH PLAIN', authPlain],
  ['AUTH LOGIN', authLogin],
  ['NOOP', noop],
  ['QUIT', quit],
]);

/** The mechanisms advertised in CAPA's SASL line, from the table itself. */
export const SASL_MECHANISMS: readonly string[] = [...COMMANDS.keys()].filter((key) => key.startsWith('AUTH ')).map((key) => key.slice('AUTH '.length));
