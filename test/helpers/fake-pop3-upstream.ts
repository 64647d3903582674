/**
 * A tiny POP3 server standing in for Dovecot behind the POP3 front: enough
 * for the real openPop3Upstream() to log in with the master user (XCLIENT
 * when advertised, AUTH PLAIN with an initial response), and for a client to
 * STAT, LIST, RETR, DELE and QUIT through the proxy. It records what it saw.
 */
import type { Socket } from 'node:net';
import { FakeUpstreamServer } from './fake-upstream-server.js';

export interface FakePop3Options {
  masterUser: string;
  masterPassword: string;
  /** Advertise [XCLIENT] in the greeting, as Dovecot does for login_trusted_networks. */
  xclient?: boolean;
  /** Answer XCLIENT with this -ERR line even when offering it (a misconfigured upstream). */
  refuseXclient?: string;
  /** Answer every master login with this -ERR line instead (e.g. "-ERR [SYS/TEMP] …"). */
  refuseLogin?: string;
  /** Greet this long after the connect, reading nothing before (as Dovecot): what a client pipelines shows in beforeGreeting. */
  greetingDelayMs?: number;
}

export interface FakePop3Session {
  /** The address the master user logged in as (PLAIN authzid). */
  user: string | null;
  /** XCLIENT fields, when one was sent. */
  xclient: Record<string, string>;
  socket: Socket;
  closed: Promise<void>;
  /** Every line received after login. */
  commands: string[];
  /** The command words received before login, in order (never their arguments: AUTH carries the master password). */
  preLogin: string[];
  /** The command words that had arrived when the greeting went out (with greetingDelayMs). */
  beforeGreeting: string[];
  greeted: boolean;
}

/** The one message in every mailbox. */
export const FAKE_MESSAGE = 'From: a@example.com\r\nSubject: hello\r\n\r\n.leading dot line\r\nbody\r\n';

export class FakePop3Upstream extends FakeUpstreamServer<FakePop3Session> {
  /** The next this many master logins are answered by closing the connection (a server that dropped it meanwhile). */
  closeNextLogins = 0;
  readonly #o: FakePop3Options;

  constructor(options: FakePop3Options) {
    super();
    this.#o = options;
  }

  protected serve(socket: Socket): void {
    const record: FakePop3Session = { user: null, xclient: {}, socket, closed: new Promise((resolve) => socket.once('close', () => resolve())), commands: [], preLogin: [], beforeGreeting: [], greeted: false };
    this.sessions.push(record);
    socket.on('error', () => undefined);
    const send = (line: string) => socket.write(`${line}\r\n`);
    let deleted = false;
    let buffer = '';
    let greeted = false;
    const greet = () => {
      record.beforeGreeting = buffer.split('\r\n').slice(0, -1).map((line) => (line.split(' ')[0] ?? '').toUpperCase());
      greeted = true;
      record.greeted = true;
      send(`+OK ${this.#o.xclient ? '[XCLIENT] ' : ''}fake pop3 ready.`);
      serveLines();
    };
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      if (greeted) serveLines();
    });
    const serveLines = () => {
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const [word = '', ...args] = line.split(' ');
        const command = word.toUpperCase();
        if (record.user === null) {
          record.preLogin.push(command);
          if (command === 'XCLIENT') {
            // what Dovecot answers a client outside login_trusted_networks (to which it offers no XCLIENT)
            if (!this.#o.xclient) send('-ERR You are not from trusted IP.');
            if (this.#o.refuseXclient) send(this.#o.refuseXclient);
            if (!this.#o.xclient || this.#o.refuseXclient) continue;
            for (const pair of args) {
              const eq = pair.indexOf('=');
              record.xclient[pair.slice(0, eq)] = pair.slice(eq + 1);
            }
            send('+OK');
          } else if (command === 'AUTH' && args[0]?.toUpperCase() === 'PLAIN' && args[1]) {
            const [authzid = '', authcid = '', password = ''] = Buffer.from(args[1], 'base64').toString('utf8').split('\0');
            if (this.closeNextLogins > 0) {
              this.closeNextLogins--;
              socket.destroy();
              return;
            }
            if (this.#o.refuseLogin) send(this.#o.refuseLogin);
            else if (authcid === this.#o.masterUser && password === this.#o.masterPassword && authzid !== '') {
              record.user = authzid;
              send('+OK Logged in.');
            } else send('-ERR [AUTH] Authentication failed.');
          } else send('-ERR Unknown command.');
          continue;
        }
        record.commands.push(line);
        const size = Buffer.byteLength(FAKE_MESSAGE);
        switch (command) {
          case 'STAT':
            send(deleted ? '+OK 0 0' : `+OK 1 ${size}`);
            break;
          case 'LIST':
            send(deleted ? '+OK 0 messages:\r\n.' : `+OK 1 messages:\r\n1 ${size}\r\n.`);
            break;
          case 'RETR':
            if (deleted || args[0] !== '1') send('-ERR There is no message 1.');
            else socket.write(`+OK ${size} octets\r\n${FAKE_MESSAGE.replace(/^\./gm, '..')}.\r\n`);
            break;
          case 'DELE':
            deleted = true;
            send('+OK Marked to be deleted.');
            break;
          case 'X-WHOAMI':
            send(`+OK ${record.user}`);
            break;
          case 'QUIT':
            send('+OK Logging out.');
            socket.end();
            break;
          default:
            send(`+OK ${command} done`);
        }
      }
    };
    if (this.#o.greetingDelayMs) setTimeout(() => !socket.destroyed && greet(), this.#o.greetingDelayMs);
    else greet();
  }
}
