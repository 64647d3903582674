import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Keys whose values are secrets wherever they sit in a log object, down to
 * two levels (control requests carry `args.password`; upstream settings
 * `master_password`; SASL payloads `response`). They are censored at the
 * logging boundary, so a careless log call cannot write a password.
 */
const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'pass', 'secret', 'response', 'master_password']);
const CENSOR = '[redacted]';
/** The top-level object is depth 0. */
const MAX_DEPTH = 2;

/**
 * `value` with every secret key's value replaced by the censor, copied only
 * where something was replaced: the caller's object is never changed, and a
 * line without secrets (nearly all of them) costs a look at each key. pino's
 * own path-based redaction did the same with wildcard paths, and cost twice
 * as much as everything else in a login's child logger and line.
 */
export function censorSecrets<T>(value: T, depth = 0): T {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const censored = censorSecrets(item, depth + 1);
      if (censored !== item) (copy ??= [...value])[i] = censored;
    }
    return (copy ?? value) as T;
  }
  // only plain objects are walked: errors and class instances go to their serializers as they are
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | null = null;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    const censored = SECRET_KEYS.has(key) && item !== undefined ? CENSOR : censorSecrets(item, depth + 1);
    if (censored !== item) (copy ??= { ...record })[key] = censored;
  }
  return (copy ?? value) as T;
}

/**
 * JSON lines on stderr for journald and log shippers; when stderr is a
 * terminal (someone running it by hand), one readable line per entry instead.
 */
export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  destination ??= process.stderr.isTTY ? pretty({ destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true }) : undefined;
  const root = pino(
    {
      level,
      base: { service: 'devicepassd' },
      formatters: { log: (object) => censorSecrets(object) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
  // pino runs a child's bindings through no formatter, so they are censored on the way in; children
  // are made with Object.create(parent), so theirs inherit this child() as well
  const pinoChild = root.child;
  root.child = function censoredChild(this: Logger, bindings, options) {
    return pinoChild.call(this, censorSecrets(bindings), options);
  } as Logger['child'];
  return root;
}

export const silentLogger: Logger = pino({ level: 'silent' });
