import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Any field that can carry a secret is censored at the logging boundary, so a
 * careless log call cannot write a password. The paths cover control requests
 * (args.password), SASL payloads and upstream credentials.
 */
const SECRET_PATHS = [
  'password',
  'pass',
  'secret',
  'response',
  'master_password',
  '*.password',
  '*.pass',
  '*.secret',
  '*.response',
  '*.master_password',
  '*.*.password',
  '*.*.master_password',
];

export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'devicepassd' },
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
