import { describe, expect, it } from 'vitest';
import { preLoginCapabilities } from '../../../src/imap/capabilities.js';
import { COMMANDS, SASL_MECHANISMS } from '../../../src/imap/commands/index.js';
import type { CommandContext, CommandResult, Credentials } from '../../../src/imap/commands/types.js';
import { composeContinuation, composeData, composeStatus, composeString } from '../../../src/imap/compose.js';
import { checkArguments, loggableArguments, resolveCommand } from '../../../src/imap/dispatch.js';
import { isParseError, parseCommand, type ParsedCommand, type SaslResponse } from '../../../src/imap/parser/index.js';

const parse = (line: string): ParsedCommand => {
  const r = parseCommand(line, []);
  if (isParseError(r)) throw new Error(r.error);
  return r;
};

/** A scripted CommandContext: records logins and answers challenges from a queue. */
function fakeContext(options: { allowed?: boolean; secure?: boolean; answers?: SaslResponse[]; pending?: number } = {}) {
  const logins: Credentials[] = [];
  const prompts: string[] = [];
  let clientId: Record<string, string> | null | undefined;
  const answers = [...(options.answers ?? [])];
  const ctx: CommandContext = {
    secure: options.secure ?? false,
    startTlsAvailable: !(options.secure ?? false),
    credentialsAllowed: options.allowed ?? true,
    capabilities: () => ['IMAP4rev1', 'ID'],
    serverId: () => ({ name: 'devicepass', version: '9.9' }),
    setClientId: (fields) => { clientId = fields; },
    pendingInput: () => options.pending ?? 0,
    challenge: async (prompt) => {
      prompts.push(prompt);
      return answers.shift() ?? { kind: 'cancel' };
    },
    login: async (credentials): Promise<CommandResult> => {
      logins.push(credentials);
      return { response: 'OK', message: 'Logged in' };
    },
  };
  return { ctx, logins, prompts, clientId: () => clientId };
}

async function run(line: string, ctx: CommandContext): Promise<CommandResult> {
  const parsed = parse(line);
  const found = resolveCommand(parsed, 'not-authenticated');
  if (!('spec' in found)) return found;
  return found.spec.handler(ctx, parsed.attributes);
}

const data = (s: string) => ({ kind: 'data', data: Buffer.from(s) }) as const;

describe('compose', () => {
  it('writes status lines with codes and cleans text that could forge a second line', () => {
    expect(composeStatus('a1', { response: 'OK', code: { name: 'CAPABILITY', args: ['IMAP4rev1', 'AUTH=PLAIN'] }, message: 'hi' }).toString()).toBe(
      'a1 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n',
    );
    expect(composeStatus('*', { response: 'BYE', message: 'bye\r\na2 OK forged' }).toString()).toBe('* BYE bye  a2 OK forged\r\n');
    expect(composeStatus('t', { response: 'NO', message: '[ALERT] not a code' }).toString()).toBe('t NO (ALERT] not a code\r\n');
    // capability names that would end the code early are dropped, not echoed
    expect(composeStatus('t', { response: 'OK', code: { name: 'CAPABILITY', args: ['A]B', 'IDLE', 'X Y'] }, message: 'x' }).toString()).toBe(
      't OK [CAPABILITY IDLE] x\r\n',
    );
  });

  it('quotes strings with escapes and falls back to literals for CR, LF and NUL', () => {
    expect(composeString(Buffer.from('say "hi" \\ bye')).toString()).toBe('"say \\"hi\\" \\\\ bye"');
    expect(composeString(Buffer.from('two\r\nlines')).toString()).toBe('{10}\r\ntwo\r\nlines');
    expect(composeData('ID', [['name', 'devicepass', 'os', null]]).toString()).toBe('* ID ("name" "devicepass" "os" NIL)\r\n');
    expect(composeData('CAPABILITY', [{ atom: 'IMAP4rev1' }, { atom: 'bad atom' }]).toString()).toBe('* CAPABILITY IMAP4rev1 NIL\r\n');
  });

  it('an empty SASL challenge is "+ " alone', () => {
    expect(composeContinuation('').toString()).toBe('+ \r\n');
    expect(composeContinuation('VXNlcm5hbWU6').toString()).toBe('+ VXNlcm5hbWU6\r\n');
  });
});

describe('capabilities', () => {
  it('LOGINDISABLED replaces AUTH= where plaintext credentials are refused; STARTTLS only before TLS', () => {
    expect(preLoginCapabilities({ startTlsAvailable: true, credentialsAllowed: false })).toEqual(['IMAP4rev1', 'LITERAL-', 'SASL-IR', 'ID', 'STARTTLS', 'LOGINDISABLED']);
    expect(preLoginCapabilities({ startTlsAvailable: true, credentialsAllowed: true })).toEqual(['IMAP4rev1', 'LITERAL-', 'SASL-IR', 'ID', 'STARTTLS', 'AUTH=PLAIN', 'AUTH=LOGIN']);
    expect(preLoginCapabilities({ startTlsAvailable: false, credentialsAllowed: true })).toEqual(['IMAP4rev1', 'LITERAL-', 'SASL-IR', 'ID', 'AUTH=PLAIN', 'AUTH=LOGIN']);
    expect(SASL_MECHANISMS).toEqual(['PLAIN', 'LOGIN']);
  });
});

describe('dispatch', () => {
  it('every command declares its state and schema', () => {
    for (const [key, spec] of COMMANDS) {
      expect(spec.state, key).toContain('not-authenticated');
      expect(Array.isArray(spec.schema), key).toBe(true);
    }
  });

  it.each([
    ['a FETCH 1 BODY[]', 'BAD', 'Unknown command or not valid before login'],
    ['a AUTHENTICATE', 'BAD', 'AUTHENTICATE needs a mechanism name'],
    ['a AUTHENTICATE "PLAIN"', 'BAD', 'AUTHENTICATE needs a mechanism name'],
    ['a AUTHENTICATE GSSAPI', 'NO', 'Unsupported authentication mechanism'],
    ['a LOGIN onlyuser', 'BAD', 'LOGIN: expects 2 arguments'],
    ['a LOGIN (list) pass', 'BAD', 'LOGIN: invalid user'],
    ['a CAPABILITY extra', 'BAD', 'CAPABILITY: expects 0 arguments'],
    ['a ID "name"', 'BAD', 'ID: invalid parameters'],
    ['a AUTHENTICATE PLAIN a b', 'BAD', 'AUTHENTICATE: expects 1 to 2 arguments'],
    ['a AUTHENTICATE PLAIN "quoted"', 'BAD', 'AUTHENTICATE: invalid initial-response'],
  ])('%s → %s', (line, response, message) => {
    expect(resolveCommand(parse(line), 'not-authenticated')).toMatchObject({ response, message });
  });

  it('resolves AUTHENTICATE by mechanism, any case', () => {
    expect(resolveCommand(parse('a authenticate plain'), 'not-authenticated')).toMatchObject({ key: 'AUTHENTICATE PLAIN' });
    expect(resolveCommand(parse('a Authenticate Login'), 'not-authenticated')).toMatchObject({ key: 'AUTHENTICATE LOGIN' });
  });

  it('masks sensitive arguments for the log', () => {
    const login = parse('a LOGIN alice@example.com "s3cret pass"');
    expect(loggableArguments(COMMANDS.get('LOGIN')!.schema, login.attributes)).toEqual(['alice@example.com', '[redacted]']);
    const auth = parse('a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==');
    const masked = loggableArguments(COMMANDS.get('AUTHENTICATE PLAIN')!.schema, auth.attributes);
    expect(masked).toEqual(['PLAIN', '[redacted]']);
    expect(JSON.stringify(masked)).not.toContain('AGFsaWNl');
    expect(checkArguments(COMMANDS.get('LOGIN')!.schema, login.attributes)).toBeNull();
  });
});

describe('command handlers', () => {
  it('LOGIN hands the astrings over, or refuses with PRIVACYREQUIRED', async () => {
    const f = fakeContext();
    expect(await run('a LOGIN alice "p\\"w"', f.ctx)).toMatchObject({ response: 'OK' });
    expect(f.logins.map((l) => [l.username.toString(), l.password.toString(), l.mechanism])).toEqual([['alice', 'p"w', 'LOGIN']]);
    const strict = fakeContext({ allowed: false });
    expect(await run('a LOGIN alice pw', strict.ctx)).toMatchObject({ response: 'NO', code: { name: 'PRIVACYREQUIRED' }, failedLogin: true });
    expect(strict.logins).toEqual([]);
  });

  it('AUTHENTICATE PLAIN: SASL-IR, continuation, authzid rules, malformed messages', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const f = fakeContext({ answers: [data('\0bob\0pw2')] });
    await run(`a AUTHENTICATE PLAIN ${b64('\0alice\0pw')}`, f.ctx);
    await run('b AUTHENTICATE PLAIN', f.ctx);
    await run(`c AUTHENTICATE PLAIN ${b64('carol\0carol\0pw3')}`, f.ctx);
    expect(f.prompts).toEqual(['']);
    expect(f.logins.map((l) => `${l.username}:${l.password}`)).toEqual(['alice:pw', 'bob:pw2', 'carol:pw3']);
    expect(await run(`d AUTHENTICATE PLAIN ${b64('mallory\0alice\0pw')}`, f.ctx)).toMatchObject({ code: { name: 'AUTHORIZATIONFAILED' } });
    expect(await run(`e AUTHENTICATE PLAIN ${b64('alice\0pw')}`, f.ctx)).toMatchObject({ response: 'BAD', message: 'Malformed PLAIN message' });
    expect(await run(`f AUTHENTICATE PLAIN ${b64('\0a\0b\0c')}`, f.ctx)).toMatchObject({ response: 'BAD' });
    expect(await run('g AUTHENTICATE PLAIN', f.ctx)).toMatchObject({ response: 'BAD', message: 'Authentication canceled' });
    expect(await run('h AUTHENTICATE PLAIN =', f.ctx)).toMatchObject({ response: 'BAD', message: 'Malformed PLAIN message' });
    expect(f.logins).toHaveLength(3);
  });

  it('AUTHENTICATE LOGIN prompts Username: then Password:, and takes the user name as SASL-IR', async () => {
    const f = fakeContext({ answers: [data('alice'), data('pw'), data('pw2')] });
    await run('a AUTHENTICATE LOGIN', f.ctx);
    await run(`b AUTHENTICATE LOGIN ${Buffer.from('bob').toString('base64')}`, f.ctx);
    expect(f.prompts).toEqual(['VXNlcm5hbWU6', 'UGFzc3dvcmQ6', 'UGFzc3dvcmQ6']);
    expect(f.logins.map((l) => `${l.username}:${l.password}:${l.mechanism}`)).toEqual(['alice:pw:SASL-LOGIN', 'bob:pw2:SASL-LOGIN']);
    const bad = fakeContext({ answers: [{ kind: 'error', error: 'Invalid base64' }] });
    expect(await run('c AUTHENTICATE LOGIN', bad.ctx)).toEqual({ response: 'BAD', message: 'Invalid base64' });
  });

  it('ID keeps the fields (lower-cased, first one wins, no prototype keys) and answers with ours', async () => {
    const f = fakeContext();
    const r = await run('a ID ("Name" "Thunderbird" "version" "128" "name" "ignored" "__proto__" "x" "os" NIL)', f.ctx);
    expect(r).toMatchObject({ response: 'OK', untagged: [{ name: 'ID', values: [['name', 'devicepass', 'version', '9.9']] }] });
    expect(Object.entries(f.clientId()!)).toEqual([['name', 'Thunderbird'], ['version', '128'], ['__proto__', 'x']]);
    expect(Object.getPrototypeOf(f.clientId())).toBeNull();
    await run('b ID NIL', f.ctx);
    expect(f.clientId()).toBeNull();
    expect(await run('c ID ("name")', f.ctx)).toMatchObject({ response: 'BAD' });
    expect(await run(`d ID (${'"k" "v" '.repeat(31)})`, f.ctx)).toMatchObject({ response: 'BAD' });
    expect(await run(`e ID ("${'k'.repeat(31)}" "v")`, f.ctx)).toMatchObject({ response: 'BAD' });
    expect(await run(`f ID ("k" "${'v'.repeat(1025)}")`, f.ctx)).toMatchObject({ response: 'BAD' });
    expect(await run('g ID (k "v")', f.ctx)).toMatchObject({ response: 'BAD' });
  });

  it('STARTTLS refuses when TLS is active or plaintext is pipelined behind it', async () => {
    expect(await run('a STARTTLS', fakeContext().ctx)).toMatchObject({ response: 'OK', after: 'starttls' });
    expect(await run('a STARTTLS', fakeContext({ pending: 3 }).ctx)).toMatchObject({ response: 'BAD' });
    expect(await run('a STARTTLS', fakeContext({ secure: true }).ctx)).toMatchObject({ response: 'BAD', message: 'TLS is already active' });
  });

  it('LOGOUT asks for BYE and close; CAPABILITY lists the context capabilities', async () => {
    expect(await run('a LOGOUT', fakeContext().ctx)).toMatchObject({ response: 'OK', bye: { response: 'BYE' }, after: 'close' });
    expect(await run('a CAPABILITY', fakeContext().ctx)).toMatchObject({ untagged: [{ name: 'CAPABILITY', values: [{ atom: 'IMAP4rev1' }, { atom: 'ID' }] }] });
  });
});
