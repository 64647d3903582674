/**
 * Spare upstream connections of the POP3 front (docs/pop3.md): opened only
 * after a successful login, used by the next one, never by a failed guess,
 * and replaced by a new connection when the upstream dropped one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RawImap as RawLines } from '../helpers/imap-raw-client.js';
import { startPop3Env, type Pop3Env } from '../helpers/pop3-env.js';

const ADDRESS = 'alice@example.com';

async function login(env: Pop3Env, password: string): Promise<string> {
  const c = await RawLines.connect(env.plainPort);
  try {
    await c.next(/^\+OK/);
    c.send(`USER ${ADDRESS}\r\n`);
    await c.next(/^\+OK/);
    c.send(`PASS ${password}\r\n`);
    const answer = await c.next(/^[+-]/, 5_000);
    if (answer.startsWith('+OK')) {
      c.send('QUIT\r\n');
      await c.waitClosed();
    }
    return answer;
  } finally {
    c.destroy();
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`never: ${what}`);
}

describe('POP3 spare upstream connections', () => {
  let env: Pop3Env;
  afterEach(async () => env?.stop());

  it('a failed login opens nothing upstream; a successful one leaves a spare that the next login uses, and another takes its place', async () => {
    env = await startPop3Env({ upstream: { xclient: true } });
    expect(await login(env, 'not the password')).toMatch(/^-ERR \[AUTH\]/);
    expect(await login(env, 'not the password either')).toMatch(/^-ERR \[AUTH\]/);
    await new Promise((r) => setTimeout(r, 50));
    expect(env.upstream.sessions).toHaveLength(0);

    expect(await login(env, env.devices.phone!.password)).toBe('+OK Logged in.');
    // the session itself, then one spare: connected, greeted, sent nothing
    await until(() => env.upstream.sessions.length === 2, 'a spare is opened');
    const spare = env.upstream.sessions[1]!;
    expect(spare.user).toBeNull();
    expect(spare.xclient).toEqual({});

    expect(await login(env, env.devices.laptop!.password)).toBe('+OK Logged in.');
    // the second login ran on the spare, with XCLIENT (the greeting offered it) and its commands
    expect(spare.user).toBe(ADDRESS);
    expect(spare.xclient).toMatchObject({ ADDR: '127.0.0.1' });
    expect(spare.commands).toEqual(['QUIT']);
    await until(() => env.upstream.sessions.length === 3, 'the spare is replaced');
    expect(env.upstream.sessions[2]!.user).toBeNull();
  });

  it.each([
    { xclient: true, sent: ['XCLIENT', 'AUTH'] },
    { xclient: false, sent: ['AUTH'] },
  ])('upstream offering XCLIENT $xclient: the first connection waits for the greeting; later new ones pipeline, XCLIENT only where the greeting offered it; a spare sends it as its greeting says', async ({ xclient, sent }) => {
    env = await startPop3Env({ upstream: { xclient, greetingDelayMs: 50 } });
    // nothing heard from this upstream yet: its greeting decides, and nothing goes before it
    expect(await login(env, env.devices.phone!.password)).toBe('+OK Logged in.');
    const first = env.upstream.sessions[0]!;
    expect(first.beforeGreeting).toEqual([]);
    expect(first.preLogin).toEqual(sent);
    await until(() => env.upstream.sessions[1]?.greeted === true, 'a spare is opened and greeted');
    // two at once: one takes the spare, the other opens a new connection, pipelined as the last greeting said
    const answers = await Promise.all([login(env, env.devices.phone!.password), login(env, env.devices.laptop!.password)]);
    expect(answers).toEqual(['+OK Logged in.', '+OK Logged in.']);
    const spare = env.upstream.sessions[1]!;
    expect(spare.preLogin).toEqual(sent);
    const fresh = env.upstream.sessions.slice(2).find((s) => s.user === ADDRESS);
    expect(fresh?.beforeGreeting).toEqual(sent);
    expect(fresh?.preLogin).toEqual(sent);
    if (xclient) expect(fresh?.xclient).toMatchObject({ ADDR: '127.0.0.1' });
  });

  it('a spare the upstream drops while idle is not used', async () => {
    env = await startPop3Env();
    expect(await login(env, env.devices.phone!.password)).toBe('+OK Logged in.');
    await until(() => env.upstream.sessions.length === 2, 'a spare is opened');
    env.upstream.sessions[1]!.socket.destroy();
    await env.upstream.sessions[1]!.closed;
    expect(await login(env, env.devices.laptop!.password)).toBe('+OK Logged in.');
    expect(env.upstream.loggedIn(ADDRESS)).toHaveLength(2);
    expect(env.upstream.sessions[1]!.user).toBeNull();
  });

  it('a spare the upstream closes as the login arrives is retried once on a new connection; a new connection closed the same way is a temporary failure', async () => {
    env = await startPop3Env();
    expect(await login(env, env.devices.phone!.password)).toBe('+OK Logged in.');
    await until(() => env.upstream.sessions.length === 2, 'a spare is opened');
    env.upstream.closeNextLogins = 1;
    expect(await login(env, env.devices.laptop!.password)).toBe('+OK Logged in.');
    expect(env.upstream.loggedIn(ADDRESS)).toHaveLength(2);
    // with no spare left to lose, the same close is the upstream's failure and the client is told to come back
    await until(() => env.upstream.sessions.length === 4, 'the spare is replaced');
    env.upstream.closeNextLogins = 2;
    expect(await login(env, env.devices.laptop!.password)).toMatch(/^-ERR \[SYS\/TEMP\]/);
  });
});
