/**
 * The socket fuzzers: for each running front, a dictionary of its commands,
 * how a case is framed (conversation.ts), and a good login that must still
 * work once the fuzzing is over. Shared by the test suite and scripts/fuzz.ts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseProxyHeader } from '../../../src/net/proxy-protocol.js';
import { CASE_TIMEOUT_MS, completeLines, converse, type Conversation } from './conversation.js';
import { FUZZ_ADDRESS, FUZZ_PASSWORD, FUZZ_WRONG_PASSWORD, NGINX_SECRET, PROXY_PEER, type Fronts } from './fronts.js';
import { b64, PLAIN_GOOD, PLAIN_WRONG } from './identities.js';
import { proxyHeader } from './proxy-headers.js';
import { Probe, type Endpoint } from './probe.js';
import { composeStatus } from '../../../src/pop3/compose.js';
import { GOODBYES as POP3_GOODBYES, REPLIES as POP3_REPLIES } from '../../../src/pop3/replies.js';
import { IMAP_CORPUS, IMAP_DICTIONARY, POP3_DICTIONARY, POP3_WELL_FORMED } from './dictionaries.js';
import { chunkSizes, cut, mutated, wireInput } from './wire.js';

export interface SocketTarget {
  readonly name: string;
  /** Cases in one `npm test` run. */
  readonly defaultRuns: number;
  // any: each target generates its own kind of case; fc.assert and fc.check accept every one
  property(fronts: Fronts): fc.IRawProperty<any, true>;
  /** Throws unless the front still logs the fuzz device in. */
  goodLogin(fronts: Fronts): Promise<void>;
}


/**
 * Up to `perConnection` cases on one connection, each cut into chunks the
 * same way; with `connections` > 1, that many such connections at once (a
 * front that makes every client wait before its greeting costs less so).
 */
function caseProperty(
  input: fc.Arbitrary<Buffer>, conversation: Conversation, perConnection: number, connections = 1,
): fc.IAsyncPropertyWithHooks<[Buffer[][], number[]]> {
  const session = fc.array(input, { minLength: 1, maxLength: perConnection });
  return fc.asyncProperty(fc.array(session, { minLength: 1, maxLength: connections }), chunkSizes, async (sessions, sizes) => {
    await Promise.all(sessions.map((cases) => converse(conversation, cases, sizes)));
  });
}

// ---------------------------------------------------------------- IMAP


const IMAP_WELL_FORMED = [
  /^\* (OK|NO|BAD|BYE) \S.*$/,
  /^\* CAPABILITY [!-~ ]+$/,
  /^\* ID \(.*\)$/,
  // tag = 1*<ASTRING-CHAR except "+">: printable, none of ( ) { % * " \ +
  /^[^\x00-\x20\x7f-\xff(){%*"\\+]+ (OK|NO|BAD) \S.*$/,
  /^\+ ?.*$/,
];
/** Ends any open literal (sync ≤ 64 KiB, non-sync ≤ 4 KiB), long or raw line, and a SASL exchange. */
const IMAP_FLUSH = Buffer.concat([Buffer.alloc(70_000, 'x'), Buffer.from('\r\n*\r\n')]);
const IMAP_SENTINEL = 'ZZZ NOOP\r\n';

/** The conversation every IMAP case (random or hand-made) goes through. */
export function imapConversation(fronts: Fronts): Conversation {
  return {
    endpoint: fronts.imap,
    greeted: (t) => t.includes('\r\n') && t.startsWith('* OK'),
    flush: IMAP_FLUSH,
    sentinel: IMAP_SENTINEL,
    // the go-ahead for STARTTLS ends what plaintext can say: the case is over there
    answered: (t) => /(^|\r\n)ZZZ [^\r\n]*\r\n/.test(t) || / OK Begin TLS negotiation now\r\n/.test(t),
    final: (t) => / OK Begin TLS negotiation now\r\n/.test(t),
    goodbye: (t) => completeLines(t).some((l) => l.startsWith('* BYE')),
    malformed: (t) => completeLines(t).filter((l) => !IMAP_WELL_FORMED.some((re) => re.test(l))),
  };
}

/** A first chunk that looks like a PROXY header is closed without a word, by design; not what this target is about. */
export function notProxyLike(bytes: Buffer): Buffer {
  return bytes[0] === 0x0d || bytes[0] === 0x50 ? Buffer.concat([Buffer.from('a NOOP\r\n'), bytes]) : bytes;
}

/**
 * A LOGIN of the fuzz device with `tag` on a new connection (after `proxyLine`,
 * when given, before the greeting); throws unless the text received by the
 * tagged answer matches `expected`.
 */
async function imapLogin(endpoint: Endpoint, tag: string, expected: RegExp, proxyLine?: string): Promise<void> {
  const p = await Probe.connect(endpoint);
  try {
    if (proxyLine !== undefined) p.send(proxyLine);
    await p.until((t) => t.includes('\r\n'), 5000);
    p.send(`${tag} LOGIN ${FUZZ_ADDRESS} "${FUZZ_PASSWORD}"\r\n`);
    await p.until((t) => t.includes(`\r\n${tag} `), 5000);
    assert.match(p.text(), expected);
  } finally {
    p.destroy();
  }
}

export const imapTarget: SocketTarget = {
  name: 'imap',
  defaultRuns: 150,
  property: (fronts) => caseProperty(fc.oneof(wireInput(IMAP_DICTIONARY), mutated(IMAP_CORPUS, IMAP_DICTIONARY)).map(notProxyLike), imapConversation(fronts), 3),
  goodLogin: (fronts) => imapLogin(fronts.imap, 'g1', /\r\ng1 OK/),
};

/**
 * A trusted load balancer's connection: a PROXY header, right or damaged,
 * then IMAP. A header the parser accepts must lead to the greeting and an
 * answered session; any other is closed without a word (the proxy is broken,
 * there is no client to tell), and within the bound.
 */
export const imapProxyTarget: SocketTarget = {
  name: 'imap-proxy',
  defaultRuns: 150,
  property: (fronts) =>
    fc.asyncProperty(
      proxyHeader,
      chunkSizes,
      fc.oneof(fc.constant(Buffer.alloc(0)), wireInput(IMAP_DICTIONARY, { maxParts: 10 }).map(notProxyLike)),
      async (header, sizes, rest) => {
        const after = Buffer.concat([rest, IMAP_FLUSH, Buffer.from(IMAP_SENTINEL)]);
        const verdict = parseProxyHeader(Buffer.concat([header, after])).status;
        const probe = await Probe.connect({ port: fronts.imap.port, localAddress: PROXY_PEER });
        try {
          probe.sendAll(cut(Buffer.concat([header, rest]), sizes));
          probe.send(IMAP_FLUSH);
          probe.send(IMAP_SENTINEL);
          const conversation = imapConversation(fronts);
          const outcome = await probe.until(conversation.answered, CASE_TIMEOUT_MS);
          const text = probe.text();
          if (verdict === 'ok') {
            assert.match(text, /^\* OK/, 'an accepted header must lead to the greeting');
            assert.ok(outcome === 'matched' || conversation.goodbye(text), `neither answered nor a goodbye: ${JSON.stringify(text.slice(-300))}`);
            assert.deepEqual(conversation.malformed(text), []);
          } else {
            assert.equal(outcome, 'closed');
            assert.equal(text, '', 'a refused header gets no IMAP greeting');
          }
        } finally {
          probe.destroy();
        }
      },
    ),
  async goodLogin(fronts) {
    const peer = { port: fronts.imap.port, localAddress: PROXY_PEER };
    // the client the header names is on a trusted network, so a plaintext login is allowed
    await imapLogin(peer, 'g1', /\r\ng1 OK/, 'PROXY TCP4 127.0.0.9 127.0.0.1 50000 143\r\n');
    // and the header is what counts: a client it names on the internet may not log in without TLS
    await imapLogin(peer, 'g2', /\r\ng2 NO \[PRIVACYREQUIRED\]/, 'PROXY TCP4 192.0.2.10 192.0.2.1 50000 143\r\n');
  },
};

// ---------------------------------------------------------------- POP3

/** Ends a line left open (unless it is now over the limit: a goodbye) and a SASL exchange (AUTH LOGIN asks twice). */
const POP3_FLUSH = '\r\n*\r\n*\r\n';
/** Refused for its argument, with the keyword echoed: an answer no case can give once cases never say NOOP. */
const POP3_SENTINEL = 'NOOP zz\r\n';
const POP3_SENTINEL_ANSWER = /(^|\r\n)-ERR NOOP: takes no arguments\r\n/;
/** The lines the front closes a connection after, from its own reply table: limits, deadlines, QUIT. */
const POP3_GOODBYE_LINES: ReadonlySet<string> = new Set(
  [...Object.values(POP3_GOODBYES), POP3_REPLIES.quit].map((status) => composeStatus(status).toString('latin1').replace(/\r\n$/, '')),
);

function pop3Conversation(fronts: Fronts): Conversation {
  return {
    endpoint: fronts.pop3,
    greeted: (t) => t.startsWith('+OK') && t.includes('\r\n'),
    flush: POP3_FLUSH,
    sentinel: POP3_SENTINEL,
    // the go-ahead for STLS ends what plaintext can say: the case is over there
    answered: (t) => POP3_SENTINEL_ANSWER.test(t) || /(^|\r\n)\+OK Begin TLS negotiation now\r\n/.test(t),
    final: (t) => /(^|\r\n)\+OK Begin TLS negotiation now\r\n/.test(t),
    goodbye: (t) => completeLines(t).some((l) => POP3_GOODBYE_LINES.has(l)),
    malformed: (t) => completeLines(t).filter((l) => !POP3_WELL_FORMED.test(l)),
  };
}

export const pop3Target: SocketTarget = {
  name: 'pop3',
  defaultRuns: 150,
  // NOOP is the sentinel, so no case says it
  property: (fronts) => caseProperty(wireInput(POP3_DICTIONARY).filter((b) => !/noop/i.test(b.toString('latin1'))).map(notProxyLike), pop3Conversation(fronts), 3),
  async goodLogin(fronts) {
    const p = await Probe.connect(fronts.pop3);
    try {
      await p.until((t) => t.includes('\r\n'), 5000);
      p.send(`AUTH PLAIN ${PLAIN_GOOD}\r\n`);
      await p.until((t) => /\r\n[+-][^\r\n]*\r\n/.test(t), 5000);
      assert.match(p.text(), /\r\n\+OK Logged in\.\r\n/);
    } finally {
      p.destroy();
    }
  },
};

// ---------------------------------------------------------------- SMTP

export const SMTP_DICTIONARY = [
  'EHLO', 'HELO', 'LHLO', 'MAIL FROM:', 'RCPT TO:', 'DATA', 'BDAT', 'RSET', 'NOOP', 'QUIT', 'STARTTLS', 'AUTH', 'PLAIN', 'LOGIN',
  'CRAM-MD5', 'XOAUTH2', 'XCLIENT', 'XFORWARD', 'VRFY', 'EXPN', 'WIZ', 'SHELL', 'KILL', 'SIZE=', 'BODY=8BITMIME', 'SMTPUTF8',
  `<${FUZZ_ADDRESS}>`, '<>', '<@a,@b:x@y>', 'x@y', '=', '*', PLAIN_WRONG, b64(FUZZ_ADDRESS), b64(FUZZ_WRONG_PASSWORD), 'not base64!',
  '.', '..', '\r\n.\r\n', '\0', '\r', '\n', ' ', ':', '\xff\xfe', 'x'.repeat(600), 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2',
];
const SMTP_FLUSH = '\r\n*\r\n*\r\n';
const SMTP_SENTINEL = 'HELP\r\n';
const SMTP_REPLY = /^\d{3}([ -].*)?$/;

function smtpConversation(fronts: Fronts): Conversation {
  return {
    endpoint: fronts.smtp,
    greeted: (t) => /^220 .*\r\n/.test(t),
    flush: SMTP_FLUSH,
    sentinel: SMTP_SENTINEL,
    // the go-ahead for STARTTLS ends what plaintext can say: the case is over there
    answered: (t) => /(^|\r\n)214 [^\r\n]*\r\n/.test(t) || /(^|\r\n)220 [^\r\n]*TLS/i.test(t),
    final: (t) => /(^|\r\n)220 [^\r\n]*TLS/i.test(t),
    // 221: QUIT; 421: the server gives up on the client
    goodbye: (t) => completeLines(t).some((l) => l.startsWith('221 ') || l.startsWith('421 ')),
    malformed: (t) => completeLines(t).filter((l) => !SMTP_REPLY.test(l)),
  };
}

/** What a logged-in client may send: the envelope and the message, with every kind of address and parameter. */
const SMTP_SESSION_WORDS = [
  ...SMTP_DICTIONARY, 'MAIL FROM:<alice@example.com>', `MAIL FROM:<${FUZZ_ADDRESS}> SIZE=100 BODY=8BITMIME`, 'MAIL FROM:<eve@example.org>',
  'MAIL FROM:<"a b"@example.com>', 'MAIL FROM:<alice@example.com> SIZE=99999999999999', 'MAIL FROM:<alice@example.com> AUTH=<>',
  'MAIL FROM:<alice@example.com> RET=FULL ENVID=x', 'RCPT TO:<bob@example.org>', 'RCPT TO:<bob@example.org> NOTIFY=NEVER', 'RCPT TO:<postmaster>',
  'RCPT TO:<a@[127.0.0.1]>', 'DATA', 'Subject: x', 'From: <alice@example.com>', '\r\n.\r\n', '.\r\n',
];

function smtpSessionConversation(fronts: Fronts): Conversation {
  return {
    ...smtpConversation(fronts),
    prelude: { send: `EHLO fuzz.example\r\nAUTH PLAIN ${PLAIN_GOOD}\r\n`, done: (t) => /\r\n235 [^\r\n]*\r\n/.test(t) },
    // a message in progress ends at the dot; the commands after it then find the envelope state
    flush: '\r\n.\r\n*\r\n',
  };
}

/** After a good login: the envelope, DATA and the upstream relay (which, here, is not there) meet the fuzz. */
export const smtpSessionTarget: SocketTarget = {
  name: 'smtp-session',
  defaultRuns: 10,
  property: (fronts) => caseProperty(wireInput(SMTP_SESSION_WORDS).filter((b) => !/HELP/i.test(b.toString('latin1'))), smtpSessionConversation(fronts), 8, 4),
  goodLogin: (fronts) => smtpTarget.goodLogin(fronts),
};

export const smtpTarget: SocketTarget = {
  name: 'smtp',
  // smtp-server holds every greeting back 100 ms (to catch clients that talk first): few connections, many cases each
  defaultRuns: 15,
  // HELP is the sentinel, so the dictionary never says it
  property: (fronts) => caseProperty(wireInput(SMTP_DICTIONARY).filter((b) => !/HELP/i.test(b.toString('latin1'))), smtpConversation(fronts), 8, 4),
  async goodLogin(fronts) {
    const p = await Probe.connect(fronts.smtp);
    try {
      await p.until((t) => t.includes('\r\n'), 5000);
      p.send('EHLO fuzz.example\r\n');
      await p.until((t) => /\r\n250 /.test(t), 5000);
      p.send(`AUTH PLAIN ${PLAIN_GOOD}\r\n`);
      await p.until((t) => /\r\n(235|[45]\d\d) /.test(t), 5000);
      assert.match(p.text(), /\r\n235 /);
    } finally {
      p.destroy();
    }
  },
};

// ---------------------------------------------------------------- Dovecot SASL

const SASL_WORDS = [
  'VERSION', 'CPID', 'AUTH', 'CONT', 'MECH', 'DONE', 'PLAIN', 'LOGIN', 'plain', 'CRAM-MD5', '1', '2', '0', '7', '4294967295',
  '4294967296', '-1', '01', 'service=imap', 'service=smtp', 'service=pop3', 'service=sieve', 'service=', 'rip=127.0.0.1',
  'rip=::ffff:10.0.0.1', 'rip=not-an-ip', 'lip=::1', 'secured', 'nologin', 'resp=', `resp=${PLAIN_WRONG}`, 'resp==', 'resp=*',
  PLAIN_WRONG, b64(FUZZ_ADDRESS), b64(FUZZ_WRONG_PASSWORD), '=', '*', '\x01', '\x01t', '\x01n', '\x010', '\x01', 'é', '\0', '\r',
];
const SASL_COMMANDS = ['VERSION', 'CPID', 'AUTH', 'CONT', 'AUTH', 'CONT', 'AUTH'];
const SENTINEL_ID = '4000000001';

/** Lines of TAB-separated dictionary words, a command first, with random bytes mixed in; VERSION first most of the time. */
const saslInput: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.boolean(),
    fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...SASL_COMMANDS), fc.array(fc.constantFrom(...SASL_WORDS), { maxLength: 6 })).map(([c, args]) => [c, ...args].join('\t')) },
        { weight: 1, arbitrary: wireInput(SASL_WORDS, { separators: ['\t', '\n', ''], maxParts: 12 }).map((b) => b.toString('latin1')) },
      ),
      { minLength: 1, maxLength: 12 },
    ),
  )
  .map(([version, lines]) => Buffer.from(`${version ? 'VERSION\t1\t2\n' : ''}${lines.join('\n')}`, 'latin1'));

const SASL_LINE = /^(VERSION\t\d+\t\d+|MECH\t[A-Z0-9-]+(\t[a-z-]+)*|SPID\t\d+|CUID\t\d+|COOKIE\t[0-9a-f]+|DONE|OK\t\d+\t.*|FAIL\t\d+(\t.*)?|CONT\t\d+\t[A-Za-z0-9+/=]*)$/;

function saslConversation(fronts: Fronts): Conversation {
  return {
    endpoint: fronts.sasl,
    greeted: (t) => t.includes('DONE\n'),
    flush: '\n',
    sentinel: `VERSION\t1\t2\nAUTH\t${SENTINEL_ID}\tPLAIN\tservice=imap\tresp=${PLAIN_WRONG}\n`,
    answered: (t) => new RegExp(`(^|\n)FAIL\t${SENTINEL_ID}\t[^\n]*\n`).test(t),
    goodbye: () => false,
    // the Dovecot auth protocol answers a broken client by hanging up, as Dovecot's own auth server does
    hangUpAnswers: true,
    malformed: (t) => completeLines(t, '\n').filter((l) => !SASL_LINE.test(l)),
  };
}

export const saslTarget: SocketTarget = {
  name: 'dovecot-sasl',
  defaultRuns: 200,
  property: (fronts) => caseProperty(saslInput, saslConversation(fronts), 3),
  async goodLogin(fronts) {
    const p = await Probe.connect(fronts.sasl);
    try {
      await p.until((t) => t.includes('DONE\n'), 5000);
      p.send(`VERSION\t1\t2\nCPID\t1\nAUTH\t9\tPLAIN\tservice=smtp\tresp=${PLAIN_GOOD}\n`);
      await p.until((t) => /\n(OK|FAIL)\t9\t/.test(t), 5000);
      assert.match(p.text(), new RegExp(`\nOK\t9\tuser=${FUZZ_ADDRESS}\n`));
    } finally {
      p.destroy();
    }
  },
};

// ---------------------------------------------------------------- HTTP auth_http

const HEADER_NAMES = [
  'Auth-Method', 'Auth-User', 'Auth-Pass', 'Auth-Protocol', 'Auth-Login-Attempt', 'Client-IP', 'Client-Host', 'Auth-SMTP-Helo',
  'Auth-SMTP-From', 'X-Devicepass-Secret', 'Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Expect', 'Auth-Salt',
];
const COMMON_VALUES = ['1', '2', '3', '99', '-1', '0x10', '1e9', '', '%', '%zz', '%E0%A4%A', '%0d%0a', 'é', '\x7f', ' padded '];
/** Values by header, so that the password and the secret appear only where they belong (a Client-IP is logged, by design). */
const VALUES_BY_HEADER: Record<string, readonly string[]> = {
  'Auth-Method': ['plain', 'PLAIN', 'apop', 'cram-md5'],
  'Auth-User': [FUZZ_ADDRESS, encodeURIComponent(FUZZ_ADDRESS), 'ALICE%40EXAMPLE.COM'],
  'Auth-Pass': [FUZZ_WRONG_PASSWORD, encodeURIComponent(FUZZ_WRONG_PASSWORD), encodeURIComponent(FUZZ_PASSWORD), `${FUZZ_WRONG_PASSWORD}%0d%0a`],
  'Auth-Protocol': ['imap', 'smtp', 'pop3', 'IMAP', 'ftp'],
  'Client-IP': ['127.0.0.1', '::ffff:192.0.2.1', '2001:db8::1', 'not-an-ip'],
  'X-Devicepass-Secret': [NGINX_SECRET, NGINX_SECRET, 'wrong-secret'],
  'Content-Length': ['5', '0', '-1', '99999999999999999999'],
  'Transfer-Encoding': ['chunked', 'gzip, chunked'],
  Connection: ['close', 'keep-alive', 'upgrade'],
  Expect: ['100-continue'],
};
const headerValue = (name: string) => fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...(VALUES_BY_HEADER[name] ?? []), ...COMMON_VALUES) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')) },
);
const REQUEST_LINES = ['GET /auth/nginx HTTP/1.0', 'GET /auth/nginx HTTP/1.1', 'GET /auth/nginx?x=1 HTTP/1.0', 'POST /auth/nginx HTTP/1.1', 'GET /healthz HTTP/1.1', 'GET /metrics HTTP/1.0', 'GET /nope HTTP/1.1', 'GET /auth/nginx HTTP/9.9', 'GET  /auth/nginx HTTP/1.0', 'BREW /auth/nginx HTTP/1.0'];

const headerLine = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HEADER_NAMES).chain((n) => headerValue(n).map((v) => `${n}: ${v}`)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('latin1')) },
);
/** A request of dictionary headers and random bytes; the secret and the address are there often enough to reach a login. */
const httpInput: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(...REQUEST_LINES), fc.array(headerLine, { maxLength: 14 }), fc.boolean(), fc.constantFrom('\r\n', '\n'))
  .map(([request, headers, withSecret, eol]) => {
    const all = withSecret ? [`X-Devicepass-Secret: ${NGINX_SECRET}`, `Auth-User: ${FUZZ_ADDRESS}`, ...headers] : headers;
    return Buffer.from(`${request}${eol}${all.join(eol)}${eol}${eol}`, 'latin1');
  });

function httpConversation(fronts: Fronts): Conversation {
  // one response, then the close every auth_http reply announces (Connection: close)
  const response = /^HTTP\/1\.[01] \d{3} [^\r\n]*\r\n([^\r\n]+\r\n)*\r\n/;
  return {
    endpoint: fronts.http,
    flush: '',
    sentinel: '',
    endAfterSending: true,
    answered: (t) => response.test(t),
    goodbye: (t) => response.test(t),
    malformed: (t) => (t === '' || response.test(t) ? [] : [t.slice(0, 200)]),
  };
}

export const httpTarget: SocketTarget = {
  name: 'http-auth',
  defaultRuns: 200,
  // Connection: close: one request per connection
  property: (fronts) => caseProperty(httpInput, httpConversation(fronts), 1),
  async goodLogin(fronts) {
    const res = await fetch(`http://127.0.0.1:${fronts.http.port}/auth/nginx`, {
      headers: {
        'X-Devicepass-Secret': NGINX_SECRET, 'Auth-Method': 'plain', 'Auth-Protocol': 'imap', 'Auth-Login-Attempt': '1',
        'Client-IP': '127.0.0.1', 'Auth-User': encodeURIComponent(FUZZ_ADDRESS), 'Auth-Pass': encodeURIComponent(FUZZ_PASSWORD),
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('auth-status'), 'OK');
  },
};

// ---------------------------------------------------------------- control socket

const OPS = [
  'address.add', 'address.list', 'address.remove', 'device.add', 'device.list', 'device.rename', 'device.reset', 'device.revoke',
  'device.revoke-all', 'generic.import', 'import.passwd-file', 'sessions', 'log', 'auth.test', 'status', 'nope', '', 'constructor', '__proto__',
];
const ARG_NAMES = ['address', 'name', 'password', 'device', 'scopes', 'expires', 'yes', 'includeGeneric', 'hash', 'content', 'limit', 'protocol', 'clientIp', 'user', '__proto__', 'toString'];
/** Addresses the fuzzer may add, change and remove; never the one the good login needs. */
const CONTROL_ADDRESSES = ['bob@example.com', 'carol@example.com', 'BOB@EXAMPLE.COM', 'bob@', '@example.com', 'x'.repeat(300)];
const argValue = fc.oneof(
  fc.constantFrom<unknown>(...CONTROL_ADDRESSES, FUZZ_WRONG_PASSWORD, '1', 1, 0, -1, 1e300, true, false, null, 'imap,smtp', 'imap', 'smtp', 'pop3', '7d', '1970-01-01', 'generic',
    `{PLAIN}${FUZZ_WRONG_PASSWORD}`, '{SSHA}AAAA', `bob@example.com:{PLAIN}${FUZZ_WRONG_PASSWORD}\n`, '127.0.0.1', 'not-an-ip', '', [], {}),
  fc.jsonValue({ maxDepth: 2 }),
);
const request = fc.record(
  {
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.jsonValue({ maxDepth: 1 })),
    op: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...OPS) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
    args: fc.oneof({ weight: 5, arbitrary: fc.dictionary(fc.constantFrom(...ARG_NAMES), argValue, { maxKeys: 5 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }),
    actor: fc.oneof(fc.constant('cli:fuzz'), fc.string({ maxLength: 80 })),
  },
  { requiredKeys: [] },
);
/** The bytes of one line: a request, any JSON, JSON cut short, or random bytes (never a LF inside). */
const controlLine = fc.oneof(
  { weight: 6, arbitrary: request.map((r) => Buffer.from(JSON.stringify(r))) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 2 }).map((j) => Buffer.from(j)) },
  { weight: 1, arbitrary: fc.tuple(request, fc.nat()).map(([r, n]) => { const j = JSON.stringify(r); return Buffer.from(j.slice(0, n % (j.length + 1))); }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b.filter((x) => x !== 0x0a))) },
);
const controlInput: fc.Arbitrary<Buffer> = fc
  .array(controlLine, { minLength: 1, maxLength: 8 })
  .map((lines) => Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));

/** Requests the server must answer in `input`: its non-blank lines, as the control protocol defines them. */
export function controlRequestCount(input: Buffer): number {
  let count = 0;
  for (let start = 0, nl = input.indexOf(0x0a); nl >= 0; start = nl + 1, nl = input.indexOf(0x0a, start)) {
    if (input.toString('utf8', start, nl).trim() !== '') count++;
  }
  return count;
}

export const controlTarget: SocketTarget = {
  name: 'control',
  defaultRuns: 150,
  property: (fronts) =>
    fc.asyncProperty(fc.array(controlInput, { minLength: 1, maxLength: 3 }), chunkSizes, async (cases, sizes) => {
      const results = await converse(
        {
          endpoint: fronts.control,
          flush: '\n',
          sentinel: '{"id":"zz-sentinel","op":"status"}\n',
          answered: (t) => /"id":"zz-sentinel","ok":true[^\n]*\n/.test(t),
          goodbye: () => false,
          malformed: (t) =>
            completeLines(t, '\n').filter((l) => {
              try {
                const r = JSON.parse(l) as { ok?: unknown; error?: { code?: unknown } };
                // a refusal names its reason; INTERNAL would mean input reached code that did not expect it
                return typeof r.ok !== 'boolean' || (r.ok === false && (typeof r.error?.code !== 'string' || r.error.code === 'INTERNAL'));
              } catch {
                return true;
              }
            }),
        },
        cases,
        sizes,
      );
      // one response per request, in order, the sentinel's last
      results.forEach(({ text }, i) => {
        const responses = completeLines(text, '\n');
        assert.equal(responses.length, controlRequestCount(cases[i]!) + 1, `responses: ${JSON.stringify(responses.slice(0, 4))}`);
      });
    }),
  async goodLogin(fronts) {
    const p = await Probe.connect(fronts.control);
    try {
      p.send(`${JSON.stringify({ id: 1, op: 'auth.test', args: { address: FUZZ_ADDRESS, password: FUZZ_PASSWORD } })}\n`);
      await p.until((t) => t.includes('\n'), 5000);
      assert.match(p.text(), /"ok":true,"result":\{"ok":true/);
    } finally {
      p.destroy();
    }
  },
};

export const SOCKET_TARGETS: readonly SocketTarget[] = [imapTarget, imapProxyTarget, pop3Target, smtpTarget, smtpSessionTarget, saslTarget, httpTarget, controlTarget];
