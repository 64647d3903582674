import { execFile } from 'node:child_process';

/**
 * swaks through a whole submission from 127.0.0.1: AUTH and, once
 * authenticated, MAIL, RCPT and DATA. Resolves with its exit code and
 * transcript (a refusal is a non-zero code, not a rejection).
 */
export function swaks(port: number, mechanism: 'PLAIN' | 'LOGIN', user: string, password: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'swaks',
      ['--server', '127.0.0.1', '--port', String(port), '--auth', mechanism, '--auth-user', user, '--auth-password', password, '--from', user, '--to', 'bob@example.org', '--timeout', '20'],
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}
