/**
 * Property-based fuzzing of every parser that reads outside input, as pure
 * functions: no crash (only the parser's own error), bounded output, the
 * same answer however the input is cut, and round trips wherever a writer
 * exists. Shared by the test suite and scripts/fuzz.ts; assertions are
 * node:assert so both can run them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ConfigError, parseConfigText } from '../../../src/config/load.js';
import { parsePasswdFile } from '../../../src/credentials/passwd-file.js';
import { LegacyHashError, legacySchemeNames, parseLegacyHash, verifyLegacy } from '../../../src/credentials/schemes/registry.js';
import {
  formatLine, LineSplitter, parseAuth, parseCont, parseLine, parseVersion, ProtocolError, tabEscape, tabUnescape,
} from '../../../src/dovecot-auth/codec.js';
import { startMechanism, type Step } from '../../../src/dovecot-auth/mechanisms.js';
import { RequestOrchestrator } from '../../../src/dovecot-auth/requests.js';
import { nginxAuth, type NginxAuthDeps } from '../../../src/http/nginx-auth.js';
import { composeString } from '../../../src/imap/compose.js';
import {
  decodeSaslResponse, isParseError, parseCommand, type ImapNode, type LineReaderOptions, type ReaderItem,
} from '../../../src/imap/parser/index.js';
import { createLogger } from '../../../src/log/logger.js';
import { parseProxyHeader, V2_MAX_PAYLOAD } from '../../../src/net/proxy-protocol.js';
import { decodeSaslBase64, splitPlain } from '../../../src/sasl/encoding.js';
import { ReplyError, ReplyReader } from '../../../src/smtp/reply.js';
import { encodeXtext } from '../../../src/smtp/xtext.js';
import { Driver } from '../imap-reader-driver.js';
import { IMAP_CORPUS, IMAP_DICTIONARY } from './dictionaries.js';
import { b64, FUZZ_WRONG_PASSWORD } from './identities.js';
import { canonical6, ipv4, ipv6, port, proxyHeader, tlvs, v2Header, v6Text } from './proxy-headers.js';
import { bytesBiased, chunkSizes, cut, mutated, wireInput } from './wire.js';
import type { LoginAttempt, LoginResult } from '../../../src/auth/types.js';

export interface ParserTarget {
  readonly name: string;
  /** Cases in one `npm test` run. */
  readonly defaultRuns: number;
  // any: the targets' generated values differ in type, and fc.assert and fc.check accept each of them
  property(): fc.IRawProperty<any, boolean>;
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** The verdicts a stand-in Authenticator gives; a success names the address as the store holds it, whatever the client typed. */
function verdict(attempt: LoginAttempt, kind: 'ok' | 'fail' | 'temporary'): LoginResult {
  if (kind === 'ok') return { ok: true, address: attempt.address.trim().toLowerCase() === 'alice@example.com' ? 'alice@example.com' : 'bob@example.com', deviceId: 1, deviceName: 'phone', generic: false, cached: false };
  return { ok: false, reason: kind === 'fail' ? 'wrong-password' : 'busy', temporary: kind === 'temporary', address: null, deviceName: null, since: null, cached: false };
}

/** A log that keeps its lines, to check that no secret reaches them. */
function capturedLog() {
  const lines: string[] = [];
  return { log: createLogger('debug', { write: (line: string) => void lines.push(line) }), lines };
}

// ---------------------------------------------------------------- IMAP: the reader

const SMALL: LineReaderOptions = {
  maxLineLength: 64, maxLiteralSize: 200, maxNonSyncLiteralSize: 32,
  maxCommandSize: 300, maxLiterals: 4, maxDiscardSize: 600,
};
const IMAP_TOKENS = [
  ...IMAP_DICTIONARY, '{', '}', '{99999999999999999999+}', '((((((((((', '"\\"', '{1+}\r\nx ', '{150}', '{150+}',
  ' {1+}\r\nx'.repeat(6), ` {150}\r\n${'q'.repeat(150)} {150}\r\n`, 'x'.repeat(400), '('.repeat(300), ...IMAP_CORPUS,
];
const imapWire = fc.oneof(wireInput(IMAP_TOKENS, { maxParts: 60, maxRandomBytes: 120 }), mutated(IMAP_CORPUS, IMAP_TOKENS));

function checkItem(item: ReaderItem, d: Driver): void {
  const l = d.reader.limits;
  if (item.kind === 'command') {
    assert.ok(item.line.length <= l.maxCommandSize);
    assert.ok(item.literals.length <= l.maxLiterals);
    for (const lit of item.literals) assert.ok(lit.length <= l.maxLiteralSize);
    const p = parseCommand(item.line, item.literals);
    if (!isParseError(p)) {
      assert.ok(p.tag.length > 0);
      assert.equal(p.command, p.command.toUpperCase());
    }
  } else if (item.kind === 'raw') {
    assert.ok(item.line.length <= l.maxLineLength);
  }
}

function readerTarget(name: string, options: LineReaderOptions, defaultRuns: number): ParserTarget {
  return {
    name,
    defaultRuns,
    property: () =>
      fc.property(imapWire, chunkSizes, (input, sizes) => {
        const chunks = cut(input, sizes);
        const whole = new Driver(options).feed(input);
        const split = new Driver(options).feedAll(chunks);
        const l = split.reader.limits;
        const bound = l.maxCommandSize + l.maxLineLength + 1;
        const biggestChunk = Math.max(0, ...chunks.map((c) => c.length));
        assert.ok(split.maxAfterDrain <= bound, `held ${split.maxAfterDrain} bytes after draining`);
        assert.ok(split.maxAfterPush <= bound + biggestChunk);
        assert.ok(whole.maxAfterDrain <= bound);
        assert.deepEqual(split.items, whole.items);
        // each item needs at least one consumed line, so a runaway loop would show here
        assert.ok(split.items.length <= 2 * input.length + 1);
        for (const item of split.items) checkItem(item, split);
      }),
  };
}

/** A long stream of random chunks on one reader: it keeps its bounds however long the connection lives. */
const readerLongStream: ParserTarget = {
  name: 'imap-reader-stream',
  defaultRuns: 4,
  property: () =>
    fc.property(fc.array(imapWire, { minLength: 1000, maxLength: 5000 }), (pieces) => {
      const d = new Driver(SMALL);
      for (const piece of pieces) {
        if (d.reader.closed) break;
        d.feed(piece.subarray(0, 64));
      }
      const l = d.reader.limits;
      assert.ok(d.maxAfterDrain <= l.maxCommandSize + l.maxLineLength + 1);
    }),
};

// ---------------------------------------------------------------- IMAP: the parser

const atomValue = fc.stringMatching(/^[a-zA-Z0-9.:@+/=\-[\]]{1,8}$/).map((v) => (v.toUpperCase() === 'NIL' ? `${v}x` : v));
const quotedBytes = fc.array(fc.oneof(fc.constantFrom(0x22, 0x5c, 0x20, 0xc3, 0xff, 0x7f, 0x09), fc.integer({ min: 0x61, max: 0x7a })), { maxLength: 12 });
const imapNode: fc.Arbitrary<ImapNode> = fc.letrec<{ node: ImapNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atomValue.map((value): ImapNode => ({ type: 'ATOM', value })),
    quotedBytes.map((b): ImapNode => ({ type: 'STRING', value: Buffer.from(b) })),
    fc.uint8Array({ maxLength: 10 }).map((b): ImapNode => ({ type: 'LITERAL', value: Buffer.from(b.map((x) => x || 1)) })),
    fc.constant<ImapNode>({ type: 'NIL' }),
    fc.array(tie('node'), { maxLength: 4 }).map((items): ImapNode => ({ type: 'LIST', items })),
  ),
})).node;

/** The wire form a client would send; `spaces` and `plus` choose the separators and literal kinds. */
function serialize(nodes: readonly ImapNode[], spaces: () => string, plus: () => boolean, wire: Buffer[]): void {
  nodes.forEach((n, i) => {
    if (i > 0) wire.push(latin1(spaces()));
    switch (n.type) {
      case 'ATOM': wire.push(latin1(n.value)); break;
      case 'NIL': wire.push(latin1(plus() ? 'NIL' : 'nil')); break;
      case 'STRING':
        wire.push(latin1('"'), latin1(n.value.toString('latin1').replace(/["\\]/g, (c) => `\\${c}`)), latin1('"'));
        break;
      case 'LITERAL': wire.push(latin1(`{${n.value.length}${plus() ? '+' : ''}}\r\n`), n.value); break;
      case 'LIST':
        wire.push(latin1('('));
        serialize(n.items, spaces, plus, wire);
        wire.push(latin1(')'));
        break;
    }
  });
}

/** Nesting of a tree: the parser refuses more than its maxDepth, so the round trip stays inside it. */
const depth = (n: ImapNode): number => (n.type === 'LIST' ? 1 + Math.max(0, ...n.items.map(depth)) : 0);

const imapRoundTrip: ParserTarget = {
  name: 'imap-parse-roundtrip',
  defaultRuns: 1000,
  property: () =>
    fc.property(
      fc.array(imapNode, { maxLength: 5 }).filter((ns) => ns.every((n) => depth(n) <= 8)),
      fc.infiniteStream(fc.integer({ min: 1, max: 3 })),
      fc.infiniteStream(fc.boolean()),
      chunkSizes,
      (attributes, spaceRuns, pluses, sizes) => {
        const wire: Buffer[] = [latin1('T1 CMD')];
        if (attributes.length > 0) wire.push(latin1(' '));
        const spaceIt = spaceRuns[Symbol.iterator]();
        const plusIt = pluses[Symbol.iterator]();
        serialize(attributes, () => ' '.repeat(spaceIt.next().value ?? 1), () => plusIt.next().value ?? false, wire);
        wire.push(latin1('\r\n'));
        const input = Buffer.concat(wire);
        const d = new Driver({ maxNonSyncLiteralSize: 4096 }).feedAll(cut(input, sizes));
        const commands = d.items.filter((i) => i.kind === 'command');
        assert.equal(commands.length, 1);
        const c = commands[0]!;
        if (c.kind !== 'command') throw new Error('unreachable');
        assert.deepEqual(parseCommand(c.line, c.literals), { tag: 'T1', command: 'CMD', attributes });
      },
    ),
};

/** The server's own writer (compose.ts) against the parser: what it sends as a string reads back as the same bytes. */
const imapComposeRoundTrip: ParserTarget = {
  name: 'imap-compose-roundtrip',
  defaultRuns: 1000,
  property: () =>
    fc.property(fc.oneof(bytesBiased(40), bytesBiased(1100)), (bytes) => {
      const input = Buffer.concat([latin1('T1 CMD '), composeString(bytes), latin1('\r\n')]);
      const d = new Driver({ maxLineLength: 4096 }).feed(input);
      const c = d.items.find((i) => i.kind === 'command');
      assert.ok(c && c.kind === 'command', `not read as a command: ${JSON.stringify(d.items)}`);
      const parsed = parseCommand(c.line, c.literals);
      if (bytes.includes(0)) {
        // RFC 3501 strings cannot carry a NUL; the parser refuses it rather than passing it on
        assert.ok(isParseError(parsed));
        return;
      }
      assert.ok(!isParseError(parsed), JSON.stringify(parsed));
      assert.equal(parsed.attributes.length, 1);
      const node = parsed.attributes[0]!;
      assert.ok(node.type === 'STRING' || node.type === 'LITERAL');
      assert.deepEqual(node.value, bytes);
    }),
};

const imapNeverThrows: ParserTarget = {
  name: 'imap-parse-never-throws',
  defaultRuns: 2000,
  property: () =>
    fc.property(imapWire, fc.array(bytesBiased(20), { maxLength: 3 }), fc.integer({ min: 1, max: 8 }), fc.boolean(), (line, literals, maxDepth, initial) => {
      const r = parseCommand(line, literals, { maxDepth });
      if (isParseError(r)) assert.equal(typeof r.error, 'string');
      else assert.ok(r.tag.length > 0);
      const sasl = decodeSaslResponse(line, initial);
      assert.ok(['cancel', 'data', 'error'].includes(sasl.kind));
    }),
};

// ---------------------------------------------------------------- SASL PLAIN / LOGIN

const base64Text = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
  fc.stringMatching(/^[A-Za-z0-9+/=]{0,24}$/),
  fc.string({ maxLength: 24 }),
  fc.constantFrom('', '=', '==', '*', 'A', 'AA', 'AA=', 'AB==', 'AAA=', 'AAAA', ' AAAA', 'AAAA\n', 'AA==AA==', 'A===', '-_-_'),
);

const saslBase64: ParserTarget = {
  name: 'sasl-base64',
  defaultRuns: 2000,
  property: () =>
    fc.property(fc.uint8Array({ maxLength: 200 }), base64Text, (bytes, text) => {
      // round trip: whatever a client encodes decodes to the same bytes
      const data = Buffer.from(bytes);
      assert.deepEqual(decodeSaslBase64(data.toString('base64')), data);
      // anything accepted is base64 of exactly the length it says, and only of the alphabet
      const decoded = decodeSaslBase64(text);
      if (decoded !== null) {
        assert.match(text, /^[A-Za-z0-9+/]*={0,2}$/);
        assert.equal(decoded.toString('base64').length, text.length);
      }
    }),
};

/** A PLAIN field: any bytes but NUL. */
const plainField = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b.filter((x) => x !== 0)));

const saslPlain: ParserTarget = {
  name: 'sasl-plain',
  defaultRuns: 2000,
  property: () =>
    fc.property(plainField, plainField, plainField, bytesBiased(60), (authzid, authcid, password, random) => {
      const message = Buffer.concat([authzid, Buffer.from([0]), authcid, Buffer.from([0]), password]);
      assert.deepEqual(splitPlain(message), { authzid, authcid, password });
      const nuls = random.filter((b) => b === 0).length;
      const split = splitPlain(random);
      if (nuls !== 2) assert.equal(split, null);
      else assert.deepEqual(split && Buffer.concat([split.authzid, Buffer.from([0]), split.authcid, Buffer.from([0]), split.password]), random);
    }),
};

/** UTF-8 text without NUL, as a PLAIN or LOGIN client sends it. */
const credentialText = fc.string({ maxLength: 20, unit: 'grapheme' }).map((s) => s.replaceAll('\0', ''));

function assertStep(step: Step): void {
  assert.ok(step.kind === 'challenge' || step.kind === 'done' || step.kind === 'invalid', JSON.stringify(step));
  if (step.kind === 'challenge') assert.match(step.base64, /^[A-Za-z0-9+/]*={0,2}$/);
}

const saslMechanisms: ParserTarget = {
  name: 'sasl-mechanisms',
  defaultRuns: 2000,
  property: () =>
    fc.property(
      fc.constantFrom('PLAIN' as const, 'LOGIN' as const),
      fc.array(fc.option(base64Text, { nil: null }), { maxLength: 5 }),
      credentialText, credentialText, credentialText,
      (mechanism, payloads, authzid, user, password) => {
        // any sequence of payloads: a step result each, never a throw
        const state = startMechanism(mechanism);
        for (const p of payloads) assertStep(state.step(p));
        // a well-formed exchange yields exactly the credentials sent
        if (mechanism === 'PLAIN') {
          const step = startMechanism('PLAIN').step(b64(`${authzid}\0${user}\0${password}`));
          assert.deepEqual(step, { kind: 'done', credentials: { authzid, user, password } });
        } else {
          const login = startMechanism('LOGIN');
          assert.equal(login.step(null).kind, 'challenge');
          assert.equal(login.step(b64(user)).kind, 'challenge');
          assert.deepEqual(login.step(b64(password)), { kind: 'done', credentials: { authzid: '', user, password } });
        }
      },
    ),
};

// ---------------------------------------------------------------- Dovecot SASL lines

/** Text with every byte Dovecot's escaping cares about, and then some. */
const escapable = fc.string({ maxLength: 30, unit: fc.oneof(fc.constantFrom('\0', '\x01', '\t', '\r', '\n', 'a', '=', ' ', 'é', '\u{1F600}'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })) });

const dovecotEscape: ParserTarget = {
  name: 'dovecot-escape',
  defaultRuns: 2000,
  property: () =>
    fc.property(escapable, fc.array(escapable, { maxLength: 6 }), fc.stringMatching(/^[A-Z]{1,8}$/), (value, args, command) => {
      const escaped = tabEscape(value);
      assert.doesNotMatch(escaped, /[\0\t\r\n]/);
      assert.equal(tabUnescape(escaped), value);
      assert.equal(typeof tabUnescape(value), 'string');
      const line = formatLine(command, ...args);
      assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
      assert.deepEqual(parseLine(line.slice(0, -1)), { command, args });
    }),
};

const dovecotSplitter: ParserTarget = {
  name: 'dovecot-line-splitter',
  defaultRuns: 2000,
  property: () =>
    fc.property(fc.oneof(bytesBiased(300), fc.constant(Buffer.alloc(0))), chunkSizes, fc.integer({ min: 1, max: 128 }), (input, sizes, max) => {
      const run = (chunks: readonly Buffer[]): string[] | 'too long' => {
        const splitter = new LineSplitter(max);
        const lines: string[] = [];
        try {
          for (const c of chunks) lines.push(...splitter.push(c));
        } catch (err) {
          assert.ok(err instanceof ProtocolError, String(err));
          return 'too long';
        }
        return lines;
      };
      const whole = run([input]);
      const split = run(cut(input, sizes));
      assert.deepEqual(split, whole);
      // at most `max` bytes each, so at most `max` UTF-16 units once decoded (a bad byte becomes one U+FFFD)
      if (whole !== 'too long') for (const l of whole) assert.ok(!l.includes('\n') && l.length <= max, JSON.stringify(l));
    }),
};

const SASL_LINE_WORDS = [
  'VERSION', 'CPID', 'AUTH', 'CONT', 'PLAIN', 'LOGIN', 'XOAUTH', '1', '2', '7', '4294967295', '4294967296', '', '-1',
  'service=imap', 'service=smtp', 'service=x', 'resp=', `resp=${b64(`\0alice@example.com\0${FUZZ_WRONG_PASSWORD}`)}`, `resp=${b64('alice@example.com')}`,
  b64(FUZZ_WRONG_PASSWORD), `resp=${b64(`bob\0bob\0${FUZZ_WRONG_PASSWORD}`)}`, 'rip=192.0.2.1', 'rip=x', 'secured', '\x01', '=', '*', FUZZ_WRONG_PASSWORD,
];
const saslLine = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.constantFrom(...SASL_LINE_WORDS), { minLength: 1, maxLength: 7 }).map((w) => w.join('\t')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }).map((s) => s.replaceAll('\n', '')) },
);
const SASL_REPLY = /^(OK\t\d+\tuser=[^\t\n]*|FAIL\t\d+(\t[^\t\n]+)*|CONT\t\d+\t[A-Za-z0-9+/=]*)\n$/;

const dovecotRequests: ParserTarget = {
  name: 'dovecot-requests',
  defaultRuns: 1000,
  property: () =>
    fc.asyncProperty(fc.boolean(), fc.array(saslLine, { maxLength: 12 }), fc.boolean(), async (version, lines, accept) => {
      const sent: string[] = [];
      const { log, lines: logged } = capturedLog();
      const attempts: LoginAttempt[] = [];
      const requests = new RequestOrchestrator({
        authenticate: async (attempt): Promise<LoginResult> => {
          attempts.push(attempt);
          return verdict(attempt, accept ? 'ok' : 'fail');
        },
        log, peerIp: '127.0.0.1', trusted: false, send: (text) => void sent.push(text), maxPending: 4,
      });
      const all = version ? ['VERSION\t1\t2', ...lines] : lines;
      let closed = false;
      for (const line of all) {
        try {
          requests.handleLine(line);
        } catch (err) {
          assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${String(err)}`);
          closed = true;
          break;
        }
      }
      await new Promise((r) => setImmediate(r));
      for (const text of sent) assert.match(text, SASL_REPLY);
      // every login decided got its verdict on the wire (or the connection ended first)
      if (!closed) assert.ok(sent.filter((t) => /^(OK|FAIL)\t/.test(t)).length >= attempts.length);
      requests.close();
      assert.ok(!logged.some((l) => l.includes(FUZZ_WRONG_PASSWORD)), 'a password reached the log');
    }),
};

/** The parameter parsers alone, on any argument list. */
const dovecotParams: ParserTarget = {
  name: 'dovecot-params',
  defaultRuns: 2000,
  property: () =>
    fc.property(fc.array(fc.oneof(fc.constantFrom(...SASL_LINE_WORDS), fc.string({ maxLength: 12 })), { maxLength: 8 }), (args) => {
      for (const parse of [parseAuth, parseCont, parseVersion] as const) {
        try {
          parse(args);
        } catch (err) {
          assert.ok(err instanceof ProtocolError, String(err));
          // error texts never echo input: it may be a password
          assert.ok(!err.message.includes(FUZZ_WRONG_PASSWORD) && !err.message.includes(b64(FUZZ_WRONG_PASSWORD)), err.message);
        }
      }
    }),
};

// ---------------------------------------------------------------- nginx auth_http

const NGINX_SECRET = 'nginx-unit-secret';
const HEADER_NAMES = ['auth-method', 'auth-user', 'auth-pass', 'auth-protocol', 'auth-login-attempt', 'client-ip', 'auth-smtp-helo', 'x-devicepass-secret'];
const text = (...words: string[]) => fc.oneof(fc.constantFrom(...words), fc.string({ maxLength: 30, unit: 'binary' }));
const COMMON = ['x', '1', '3', '4', '-5', '1e3', '99999999999999999999', '', '%', '%zz', '%0d%0a', '%00', 'a%0Ab', '\r\n', 'é'];
/** Each header with values of its own kind (the password and the secret only where they belong), sometimes repeated. */
const HEADER_VALUES: Record<string, fc.Arbitrary<string>> = {
  'auth-method': text('plain', 'PLAIN', 'apop', 'cram-md5', ...COMMON),
  'auth-user': text('alice%40example.com', 'alice@example.com', 'ALICE@example.com', ...COMMON),
  'auth-pass': text(encodeURIComponent(FUZZ_WRONG_PASSWORD), FUZZ_WRONG_PASSWORD, `${FUZZ_WRONG_PASSWORD}%0d%0a`, `${FUZZ_WRONG_PASSWORD}%00`, ...COMMON),
  'auth-protocol': text('imap', 'smtp', 'pop3', 'IMAP', 'sieve', ...COMMON),
  'auth-login-attempt': text(...COMMON),
  'client-ip': text('127.0.0.1', '::ffff:192.0.2.1', '2001:db8::1', 'not-an-ip', ...COMMON),
  'auth-smtp-helo': text('mail.example.com', 'x'.repeat(300), ...COMMON),
  'x-devicepass-secret': text(NGINX_SECRET, NGINX_SECRET, `${NGINX_SECRET} `, ...COMMON),
};
const headers = fc.record(
  Object.fromEntries(HEADER_NAMES.map((n) => [n, fc.oneof({ weight: 4, arbitrary: HEADER_VALUES[n]! }, { weight: 1, arbitrary: fc.array(HEADER_VALUES[n]!, { maxLength: 3 }) })])),
  { requiredKeys: [] },
) as fc.Arbitrary<Record<string, string | string[]>>;
const HEADER_VALUE = /^[\x20-\x7e]*$/;

const nginxHeaders: ParserTarget = {
  name: 'nginx-auth-headers',
  defaultRuns: 1000,
  property: () =>
    fc.asyncProperty(headers, fc.constantFrom('ok', 'fail', 'temporary', 'throws'), async (given, outcome) => {
      const { log, lines } = capturedLog();
      const deps: NginxAuthDeps = {
        authenticate: async (attempt) => {
          if (outcome === 'throws') throw new Error('store unavailable');
          return verdict(attempt, outcome);
        },
        isTrustedNetwork: () => false,
        log,
        secret: NGINX_SECRET,
        upstreams: {
          imap: { host: '127.0.0.1', port: 143, masterUser: '', masterPassword: '' },
          pop3: { host: '127.0.0.1', port: 110, masterUser: '', masterPassword: '' },
          smtp: { host: '127.0.0.1', port: 25 },
        },
      };
      const reply = await nginxAuth(given, deps);
      assert.ok(reply.status === 200 || reply.status === 403);
      const secret = given['x-devicepass-secret'];
      if ((Array.isArray(secret) ? secret[0] : secret) !== NGINX_SECRET) assert.equal(reply.status, 403);
      // node:http refuses a header value with CR, LF or NUL: each reply must be writable as it is
      for (const [name, value] of Object.entries(reply.headers)) {
        assert.match(name, /^[A-Za-z-]+$/);
        assert.match(value, HEADER_VALUE, `${name}: ${JSON.stringify(value)}`);
      }
      if (reply.status === 200) assert.ok(reply.headers['Auth-Status'], 'a 200 without Auth-Status');
      assert.ok(!lines.some((l) => l.includes(FUZZ_WRONG_PASSWORD) || l.includes(NGINX_SECRET)), 'a secret reached the log');
    }),
};

// ---------------------------------------------------------------- PROXY protocol v1 / v2

const proxyRoundTrip: ParserTarget = {
  name: 'proxy-roundtrip',
  defaultRuns: 2000,
  property: () =>
    fc.property(fc.boolean(), ipv4, ipv4, ipv6, ipv6, port, port, tlvs, bytesBiased(20), (four, s4, d4, s6, d6, sport, dport, tlv, rest) => {
      const [src, dst] = four ? [s4.join('.'), d4.join('.')] : [v6Text(s6), v6Text(d6)];
      // v1, as HAProxy writes it
      const v1 = latin1(`PROXY ${four ? 'TCP4' : 'TCP6'} ${src} ${dst} ${sport} ${dport}\r\n`);
      assert.deepEqual(parseProxyHeader(Buffer.concat([v1, rest])), {
        status: 'ok', length: v1.length, header: { version: 1, source: { address: src, port: sport }, destination: { address: dst, port: dport } },
      });
      // v2
      const v2 = four ? v2Header(4, s4, d4, sport, dport, tlv) : v2Header(6, s6, d6, sport, dport, tlv);
      const expected = four ? [src, dst] : [canonical6(src), canonical6(dst)];
      assert.deepEqual(parseProxyHeader(Buffer.concat([v2, rest])), {
        status: 'ok', length: v2.length, header: { version: 2, source: { address: expected[0], port: sport }, destination: { address: expected[1], port: dport } },
      });
      // every proper prefix is "incomplete", never a guess
      for (const header of [v1, v2]) {
        for (const n of [1, 5, 12, 15, 16, header.length - 1]) {
          if (n < header.length) assert.deepEqual(parseProxyHeader(header.subarray(0, n)), { status: 'incomplete' });
        }
      }
    }),
};

const proxyMutations: ParserTarget = {
  name: 'proxy-never-throws',
  defaultRuns: 3000,
  property: () =>
    fc.property(
      proxyHeader,
      (buf) => {
        const r = parseProxyHeader(buf);
        assert.ok(['incomplete', 'invalid', 'ok'].includes(r.status));
        if (r.status === 'ok') {
          assert.ok(r.length > 0 && r.length <= buf.length && r.length <= 16 + V2_MAX_PAYLOAD);
          for (const p of [r.header.source, r.header.destination]) if (p) assert.ok(p.port >= 0 && p.port <= 65535);
        }
      },
    ),
};

// ---------------------------------------------------------------- SMTP: what the upstream MTA sends, and XCLIENT values

const replyLine = fc.oneof(
  fc.tuple(fc.integer({ min: 200, max: 599 }), fc.constantFrom(' ', '-', ''), fc.string({ maxLength: 30 })).map(([c, s, t]) => `${c}${s}${t}`),
  fc.string({ maxLength: 30, unit: 'binary' }),
);
const smtpReplies: ParserTarget = {
  name: 'smtp-reply-reader',
  defaultRuns: 2000,
  property: () =>
    fc.property(fc.array(replyLine, { maxLength: 10 }), fc.constantFrom('\r\n', '\n'), chunkSizes, (lines, eol, sizes) => {
      const text = lines.map((l) => l + eol).join('');
      const run = (chunks: readonly string[]) => {
        const reader = new ReplyReader();
        const out: unknown[] = [];
        try {
          for (const c of chunks) out.push(...reader.push(c));
        } catch (err) {
          assert.ok(err instanceof ReplyError, String(err));
          return 'error';
        }
        return out;
      };
      const chunks = cut(Buffer.from(text, 'latin1'), sizes).map((b) => b.toString('latin1'));
      assert.deepEqual(run(chunks), run([text]));
    }),
};

/** xtext (RFC 3461) has a decoder by definition; the encoder must be its exact inverse and never let a space or CRLF through. */
const smtpXtext: ParserTarget = {
  name: 'smtp-xtext',
  defaultRuns: 2000,
  property: () =>
    fc.property(fc.string({ maxLength: 40, unit: 'binary' }), (value) => {
      const x = encodeXtext(value);
      assert.match(x, /^([!-*,-<>-~]|\+[0-9A-F]{2})*$/);
      const decoded = Buffer.from(x.replace(/\+([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      assert.deepEqual(decoded, Buffer.from(value, 'utf8'));
    }),
};

// ---------------------------------------------------------------- TOML config

const CONFIG_KEYS: Record<string, fc.Arbitrary<unknown>> = {
  'log.level': fc.constantFrom('debug', 'info', 'warn', 'silent', 'loud', 1),
  'hashing.memory_kib': fc.oneof(fc.integer({ min: 1024, max: 65536 }), fc.integer(), fc.constant('big')),
  'hashing.iterations': fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer()),
  'hashing.concurrency': fc.integer({ min: -2, max: 70 }),
  'auth.trusted_networks': fc.array(fc.constantFrom('127.0.0.0/8', '::1/128', '10.0.0.0/33', 'x', '192.0.2.1', '::/0'), { maxLength: 3 }),
  'auth.failure_delay': fc.constantFrom('2s', '10m', '1.5h', '3d', 0, 5, '-1s', 'soon', '1e400s'),
  'auth.lockout_failures': fc.integer({ min: -1, max: 100 }),
  'imap.listen': fc.array(fc.constantFrom('127.0.0.1:1143', '[::1]:993', '[x]:1', 'host:99999', 'a.sock', '/run/x', ''), { maxLength: 2 }),
  'imap.upstream.tls': fc.constantFrom('none', 'starttls', 'implicit', 'tls'),
  'imap.upstream.port': fc.integer({ min: -1, max: 70000 }),
  'smtp.sender_policy': fc.constantFrom('strict', 'off', 'on'),
  'smtp.aliases': fc.dictionary(fc.constantFrom('alice@example.com', 'x'), fc.array(fc.constantFrom('sales@example.com', '', 'y'), { maxLength: 2 }), { maxKeys: 2 }),
  'dovecot_auth.mode': fc.constantFrom('0660', '0666', '660', '999', 'rw'),
  'http.nginx_secret': fc.stringMatching(/^[A-Za-z0-9]{8,16}$/),
  'control.max_request_bytes': fc.integer({ min: 0, max: 1 << 30 }),
  'nope.key': fc.constant(1),
  data_dir: fc.constantFrom('data', '/tmp/dp-fuzz-config', '', '../x'),
};
/** A TOML value written as TOML: strings JSON-quoted (TOML basic strings escape the same way for these), arrays and inline tables. */
function tomlValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  return `{ ${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)} = ${tomlValue(x)}`).join(', ')} }`;
}
const configAssignments = fc.uniqueArray(fc.constantFrom(...Object.keys(CONFIG_KEYS)), { maxLength: 8 })
  .chain((keys) => fc.tuple(...keys.map((k) => CONFIG_KEYS[k]!.map((v) => [k, v] as const))));
const TOML_NOISE = ['[', ']', '[[x]]', '=', '"', "'''", '"""', '#', '\n', 'key', '.', '\\u0000', '\\', '{', '}', ',', ' ', '\t', '1979-05-27T07:32:00Z', 'inf', 'nan', '0x1F', '+', '-', 'é', '\0'];

const configToml: ParserTarget = {
  name: 'config-toml',
  defaultRuns: 500,
  property: () =>
    fc.property(configAssignments, fc.array(fc.oneof(fc.constantFrom(...TOML_NOISE), fc.string({ maxLength: 6 })), { maxLength: 12 }), fc.boolean(), (pairs, noise, mangle) => {
      // dotted keys (`imap.upstream.tls = …`) are TOML too, so the document needs no tables
      let text = pairs.map(([k, v]) => `${k} = ${tomlValue(v)}`).join('\n');
      if (mangle) text = noise.reduce((t, n, i) => { const at = (i * 7919) % (t.length + 1); return t.slice(0, at) + n + t.slice(at); }, text);
      try {
        const config = parseConfigText(text, '/tmp/dp-fuzz-config/devicepass.toml');
        assert.ok(Object.isFrozen(config));
        assert.ok(config.data_dir.startsWith('/'));
      } catch (err) {
        assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
        // the message names what is wrong; it never quotes the shared secret
        const secret = pairs.find(([k]) => k === 'http.nginx_secret')?.[1];
        if (typeof secret === 'string') assert.ok(!err.message.includes(secret), err.message);
      }
    }),
};

// ---------------------------------------------------------------- passwd-file and the legacy hash parsers

const SCHEMES = [...legacySchemeNames(), 'CLEAR', 'CRYPT', 'MD5', 'sha512-crypt', 'SSHA.HEX', 'SSHA.B64', 'PLAIN.b64', 'X.Y.Z', ''];
const HASH_BODIES = [
  FUZZ_WRONG_PASSWORD, '$6$saltsalt$' + 'a'.repeat(86), '$5$rounds=1000$salt$' + 'b'.repeat(43), '$2b$04$' + 'c'.repeat(53), '$2y$31$' + 'c'.repeat(53),
  '$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$' + 'A'.repeat(43), '$argon2i$v=19$m=4194304,t=1,p=1$c2FsdA$AAAA', '$1$abc$def',
  Buffer.alloc(24, 1).toString('base64'), 'AAAA', '00ff', '$pbkdf2$', '$1$ab', '', ':', '}', '{', '$', '$6$', '$6$rounds=999999999$x$y',
];
const hashField = fc.oneof(
  fc.tuple(fc.constantFrom(...SCHEMES), fc.oneof(fc.constantFrom(...HASH_BODIES), fc.string({ maxLength: 30 }))).map(([s, b]) => `{${s}}${b}`),
  fc.constantFrom(...HASH_BODIES),
  fc.string({ maxLength: 40 }),
);

const legacyHashes: ParserTarget = {
  name: 'legacy-hash-parse',
  defaultRuns: 2000,
  property: () =>
    fc.property(hashField, (text) => {
      try {
        const hash = parseLegacyHash(text);
        assert.ok(legacySchemeNames().includes(hash.scheme));
        assert.ok(hash.encoded.length > 0);
      } catch (err) {
        assert.ok(err instanceof LegacyHashError, `not a LegacyHashError: ${String(err)}`);
        // the message never quotes the hash: for {PLAIN} it is the password
        const body = text.slice(text.indexOf('}') + 1);
        if (body.length >= 8) assert.ok(!err.message.includes(body), err.message);
      }
    }),
};

/** The SSHA family and PLAIN have a writer by definition: a hash made from a password verifies with it, and with nothing else. */
const DIGESTS = { SSHA: 'sha1', SSHA256: 'sha256', SSHA512: 'sha512' } as const;
const legacyVerifyRoundTrip: ParserTarget = {
  name: 'legacy-hash-roundtrip',
  defaultRuns: 500,
  property: () =>
    fc.asyncProperty(
      fc.constantFrom('SSHA', 'SSHA256', 'SSHA512', 'PLAIN'),
      fc.constantFrom('', '.B64', '.HEX'),
      fc.string({ minLength: 1, maxLength: 20 }).filter((p) => !p.includes('\0')),
      fc.uint8Array({ minLength: 1, maxLength: 16 }),
      fc.string({ minLength: 1, maxLength: 20 }),
      async (scheme, encoding, password, salt, other) => {
        const stored = scheme === 'PLAIN'
          ? Buffer.from(password, 'utf8')
          : Buffer.concat([createHash(DIGESTS[scheme]).update(password, 'utf8').update(salt).digest(), salt]);
        const body = encoding === '.HEX' ? stored.toString('hex') : scheme === 'PLAIN' && encoding === '' ? password : stored.toString('base64');
        const hash = parseLegacyHash(`{${scheme}${encoding}}${body}`);
        assert.equal(hash.scheme, scheme);
        assert.equal(await verifyLegacy(hash, Buffer.from(password, 'utf8')), true);
        if (other !== password) assert.equal(await verifyLegacy(hash, Buffer.from(other, 'utf8')), false);
      },
    ),
};

const userName = fc.stringMatching(/^[a-z0-9._+-]{1,12}(@example\.(com|org))?$/);
const passwdLine = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(userName, hashField, fc.array(fc.constantFrom('1000', '', 'x', '/home/x', 'userdb_quota=1G'), { maxLength: 6 })).map(([u, h, rest]) => [u, h, ...rest].join(':')) },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', '   ', ':', '::', 'user', 'user:', ':{PLAIN}x', '\uFEFFuser:{PLAIN}x', 'user:{PLAIN}x\r') },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')) },
);

const passwdFile: ParserTarget = {
  name: 'passwd-file',
  defaultRuns: 1000,
  property: () =>
    fc.property(fc.array(passwdLine, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
      const file = parsePasswdFile(lines.join(eol));
      // every line that is not blank or a comment is either an entry or an error, by its number
      const counted = lines.map((l, i) => ({ l: i === 0 ? l.replace(/^\uFEFF/, '') : l, n: i + 1 }))
        .filter(({ l }) => { const t = (l.endsWith('\r') ? l.slice(0, -1) : l).trim(); return t !== '' && !t.startsWith('#'); });
      const seen = [...file.entries.map((e) => e.line), ...file.errors.map((e) => e.line)].sort((a, b) => a - b);
      assert.deepEqual(seen, counted.map(({ n }) => n));
      // round trip: each entry is its line's user and the hash its field parses to
      for (const e of file.entries) {
        const line = lines[e.line - 1]!.replace(/^\uFEFF/, '');
        assert.equal(e.user, line.slice(0, line.indexOf(':')).trim());
      }
      // no error quotes a password field
      for (const e of file.errors) {
        const line = lines[e.line - 1]!;
        const field = line.split(':')[1] ?? '';
        const body = field.startsWith('{') ? field.slice(field.indexOf('}') + 1) : field;
        if (body.length >= 8) assert.ok(!e.message.includes(body), e.message);
      }
    }),
};

export const PARSER_TARGETS: readonly ParserTarget[] = [
  readerTarget('imap-reader-small', SMALL, 2000),
  readerTarget('imap-reader', {}, 400),
  readerLongStream,
  imapRoundTrip,
  imapComposeRoundTrip,
  imapNeverThrows,
  saslBase64,
  saslPlain,
  saslMechanisms,
  dovecotEscape,
  dovecotSplitter,
  dovecotParams,
  dovecotRequests,
  nginxHeaders,
  proxyRoundTrip,
  proxyMutations,
  smtpReplies,
  smtpXtext,
  configToml,
  legacyHashes,
  legacyVerifyRoundTrip,
  passwdFile,
];
