/**
 * A tiny IMAP server standing in for Dovecot behind the IMAP front: enough of
 * the protocol for the real openUpstream() to log in with the master user
 * (AUTHENTICATE PLAIN, with or without SASL-IR, after ID), and for a client
 * to SELECT, IDLE and LOGOUT through the proxy. It records what it saw.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { FakeUpstreamServer } from './fake-upstream-server.js';
import { CommandReader, decodeSaslResponse, isParseError, nodeText, parseCommand } from '../../src/imap/parser/index.js';

export interface FakeUpstreamOptions {
  masterUser: string;
  masterPassword: string;
  /** Advertise SASL-IR in the greeting (openUpstream then pipelines its login). */
  saslIr?: boolean;
}

export interface UpstreamSessionRecord {
  /** The address the master user logged in as (PLAIN authzid). */
  user: string | null;
  id: Record<string, string>;
  socket: Socket;
  closed: Promise<void>;
  /** Every command line received after login, for asserting pass-through. */
  commands: string[];
}

/** What X-BLOB repeats. */
export const BLOB_PATTERN = 'relay-test-0123456789';

export const UPSTREAM_CAPABILITIES = ['IMAP4rev1', 'IDLE', 'NAMESPACE', 'X-FAKE-UPSTREAM'];

export class FakeImapUpstream extends FakeUpstreamServer<UpstreamSessionRecord> {
  readonly #o: FakeUpstreamOptions;

  constructor(options: FakeUpstreamOptions) {
    super();
    this.#o = options;
  }

  protected serve(socket: Socket): void {
    const record: UpstreamSessionRecord = {
      user: null,
      id: {},
      socket,
      closed: new Promise((resolve) => socket.once('close', () => resolve())),
      commands: [],
    };
    this.sessions.push(record);
    socket.on('error', () => undefined);
    // large literals for the relay tests (X-DIGEST)
    const reader = new CommandReader({ maxLiteralSize: 64 * 2 ** 20, maxNonSyncLiteralSize: 64 * 2 ** 20, maxCommandSize: 65 * 2 ** 20 });
    const caps = ['IMAP4rev1', 'ID', 'AUTH=PLAIN', 'LITERAL+', ...(this.#o.saslIr === false ? [] : ['SASL-IR'])];
    let raw: ((line: Buffer) => void) | null = null;
    const send = (line: string) => socket.write(`${line}\r\n`);
    const login = (tag: string, data: Buffer) => {
      const [authzid = '', authcid = '', password = ''] = data.toString('utf8').split('\0');
      if (authcid === this.#o.masterUser && password === this.#o.masterPassword && authzid !== '') {
        record.user = authzid;
        send(`${tag} OK [CAPABILITY ${UPSTREAM_CAPABILITIES.join(' ')}] Logged in`);
      } else {
        send(`${tag} NO [AUTHENTICATIONFAILED] Authentication failed.`);
      }
    };
    send(`* OK [CAPABILITY ${caps.join(' ')}] fake upstream ready`);
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      for (let item = reader.read(); item; item = reader.read()) {
        if (item.kind === 'continuation') {
          send('+ go ahead');
          continue;
        }
        if (item.kind === 'raw') {
          const r = raw;
          raw = null;
          r?.(item.line);
          continue;
        }
        if (item.kind !== 'command') continue;
        const cmd = parseCommand(item.line, item.literals);
        if (isParseError(cmd)) {
          send(`${cmd.tag ?? '*'} BAD ${cmd.error}`);
          continue;
        }
        const { tag, command, attributes } = cmd;
        if (record.user !== null) record.commands.push(item.line.toString('utf8'));
        switch (command) {
          case 'CAPABILITY':
            send(`* CAPABILITY ${(record.user ? UPSTREAM_CAPABILITIES : caps).join(' ')}`);
            send(`${tag} OK CAPABILITY completed`);
            break;
          case 'ID': {
            const list = attributes[0];
            if (list?.type === 'LIST') {
              for (let i = 0; i + 1 < list.items.length; i += 2) record.id[nodeText(list.items[i]) ?? ''] = nodeText(list.items[i + 1]) ?? '';
            }
            send('* ID ("name" "fake-upstream")');
            send(`${tag} OK ID completed`);
            break;
          }
          case 'AUTHENTICATE': {
            const ir = nodeText(attributes[1]);
            if (ir !== undefined) {
              const r = decodeSaslResponse(ir, true);
              login(tag, r.kind === 'data' ? r.data : Buffer.alloc(0));
            } else {
              reader.expectRawLine();
              raw = (line) => {
                const r = decodeSaslResponse(line);
                login(tag, r.kind === 'data' ? r.data : Buffer.alloc(0));
              };
              send('+ ');
            }
            break;
          }
          case 'SELECT':
            send('* 0 EXISTS');
            send(`${tag} OK [READ-WRITE] SELECT completed`);
            break;
          case 'IDLE':
            reader.expectRawLine();
            raw = () => send(`${tag} OK IDLE terminated`);
            send('+ idling');
            break;
          case 'X-WHOAMI':
            send(`* X-WHOAMI "${record.user ?? ''}"`);
            send(`${tag} OK done`);
            break;
          case 'X-BLOB': {
            // `X-BLOB <n>`: n bytes of a repeating pattern in a literal, for relay tests
            const size = Number(nodeText(attributes[0]));
            socket.write(`* X-BLOB {${size}}\r\n`);
            socket.write(Buffer.alloc(size, BLOB_PATTERN));
            send('');
            send(`${tag} OK blob sent`);
            break;
          }
          case 'X-DIGEST': {
            // `X-DIGEST {n}` + n bytes: answers the literal's length and SHA-256
            const data = item.literals[0] ?? Buffer.alloc(0);
            send(`* X-DIGEST ${data.length} ${createHash('sha256').update(data).digest('hex')}`);
            send(`${tag} OK digest done`);
            break;
          }
          case 'LOGOUT':
            send('* BYE fake upstream logging out');
            send(`${tag} OK LOGOUT completed`);
            socket.end();
            break;
          default:
            send(`${tag} OK ${command} completed`);
        }
      }
    });
  }
}
