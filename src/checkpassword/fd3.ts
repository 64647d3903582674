import { readSync } from 'node:fs';

/** The checkpassword interface caps what it reads from fd 3. */
export const MAX_INPUT_BYTES = 512;

export class InputError extends Error {}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * "user\0password\0" and optionally more NUL-terminated fields (a timestamp,
 * Dovecot's extra data), which are ignored. The password may be empty only
 * for the "no password" lookups Dovecot marks with AUTHORIZED=1.
 */
export function parseInput(bytes: Buffer): { user: string; password: string } {
  const fields = bytes.toString('utf8').split('\0');
  // a well-formed input ends in NUL, so the text after the last one is empty
  if (fields.length < 3 && !(fields.length === 2 && fields[1] === '')) throw new InputError('fd 3 holds no "user NUL password NUL"');
  const [user, password] = fields as [string, string];
  if (user === '') throw new InputError('empty user name on fd 3');
  return { user, password: fields.length >= 3 ? password : '' };
}

/** Reads fd 3 to its end (or the cap); more than the cap is a misuse. */
export function readInput(fd = 3): Buffer {
  const buffer = Buffer.alloc(MAX_INPUT_BYTES + 1);
  let length = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer, length, buffer.length - length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // a pipe not yet written to: wait for its writer
      if (code === 'EAGAIN') {
        Atomics.wait(PAUSE, 0, 0, 5);
        continue;
      }
      throw new InputError(`cannot read fd ${fd}: ${code ?? String(err)}`);
    }
    if (n === 0) break;
    length += n;
    if (length > MAX_INPUT_BYTES) throw new InputError(`more than ${MAX_INPUT_BYTES} bytes on fd ${fd}`);
  }
  return buffer.subarray(0, length);
}
