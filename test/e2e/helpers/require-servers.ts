/**
 * End-to-end suites skip on a developer machine without the real servers,
 * but under CI (which installs them in .ci/run) a missing server is a
 * failure, never a silent skip.
 */
export function serversReady(available: boolean, what: string): boolean {
  if (!available && process.env.CI) throw new Error(`${what} is required for the end-to-end suites in CI but is not available`);
  return available;
}
