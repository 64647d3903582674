import type {
  SMTPServer,
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';
import { AUTH_REPLIES, authReply } from '../errors/auth-replies.js';
import type { Logger } from '../log/logger.js';
import type { ConnectionGate, ConnectionTicket } from '../net/connection-gate.js';
import type { FrontContext } from '../front-context.js';
import { Relay, type RelayConfig, type Verdict } from './relay.js';
import { replyError, SMTP_REPLIES, type FrontReply } from './replies.js';
import type { SenderPolicy } from './sender-policy.js';
import { authzidPermitted } from '../sasl/authzid.js';

/** The part of smtp-server's connection object this front uses: its session, a reply, the close. */
interface ConnectionHandle {
  session: SMTPServerSession;
  send(code: number, data?: string | string[] | null): void;
  close(): void;
}

interface Login {
  address: string;
  deviceId: number;
  deviceName: string;
  unregister: () => void;
}

interface Connection {
  handle: ConnectionHandle;
  log: Logger;
  /** Failed AUTH attempts, inline `AUTH PLAIN <response>` retries included (smtp-server counts none). */
  failures: number;
  login: Login | null;
  relay: Relay | null;
  /** The upstream connection opened at login, ahead of the first MAIL FROM. */
  opening: Promise<Opened> | null;
  closed: boolean;
  /** This connection's place in the front's connection counts. */
  ticket: ConnectionTicket;
  /** Cleared by the first login; fires login_timeout after accept otherwise. */
  loginDeadline: NodeJS.Timeout;
}

type Opened = Awaited<ReturnType<typeof Relay.open>>;

export interface SubmissionOptions {
  senderPolicy: SenderPolicy;
  relay: RelayConfig;
  maxAuthFailures: number;
  /** The front's connection limits, shared by its listeners. */
  gate: ConnectionGate;
  loginTimeoutMs: number;
}

type Hooks = Required<Pick<SMTPServerOptions, 'onConnect' | 'onSecure' | 'onAuth' | 'onMailFrom' | 'onRcptTo' | 'onData' | 'onClose'>>;
type Done = (err?: Error | null) => void;

/**
 * The submission logic behind smtp-server's hooks: who may authenticate and
 * how often, whose sender address may be used, and the relay of each
 * transaction to the upstream MTA. Authenticated sessions are registered under
 * their device so a revocation closes them with 421.
 */
export class SubmissionFront {
  readonly #ctx: FrontContext;
  #o: SubmissionOptions;
  readonly #connections = new Map<string, Connection>();
  /** Messages between DATA and the upstream's verdict: a graceful stop lets them finish. */
  #messagesInFlight = 0;

  constructor(ctx: FrontContext, options: SubmissionOptions) {
    this.#ctx = ctx;
    this.#o = options;
  }

  get size(): number {
    return this.#connections.size;
  }

  get messagesInFlight(): number {
    return this.#messagesInFlight;
  }

  /** A reload: the sender policy, the upstream for new relays, the failure limit; sessions already relaying keep theirs. */
  reconfigure(options: Pick<SubmissionOptions, 'senderPolicy' | 'relay' | 'maxAuthFailures' | 'loginTimeoutMs'>): void {
    this.#o = { ...this.#o, ...options };
  }

  /** The hooks for one listener; `server` is read lazily because the server is built from them. */
  hooks(server: () => SMTPServer): Hooks {
    return {
      onConnect: (session, done) => this.#onConnect(server(), session, done),
      onSecure: (_socket, session, done) => this.#onSecure(session, done),
      onAuth: (auth, session, done) => this.#guard(this.#onAuth(auth, session, done), session, () => done(null, temporaryAuthFailure())),
      onMailFrom: (address, session, done) => this.#guard(this.#onMailFrom(address, session, done), session, done),
      onRcptTo: (address, session, done) => this.#guard(this.#onRcptTo(address, session, done), session, done),
      onData: (stream, session, done) => {
        this.#messagesInFlight++;
        const finish = (err?: Error | null, message?: string) => {
          this.#messagesInFlight--;
          done(err, message);
        };
        this.#guard(this.#onData(stream, session, finish), session, finish);
      },
      onClose: (session) => this.#onClose(session),
    };
  }

  /** Ends every connection with `reply` (shutdown). */
  closeAll(reply: FrontReply): void {
    for (const connection of this.#connections.values()) this.#end(connection, reply);
  }

  /** A bug in a hook must answer the client and be logged, never become an unhandled rejection that ends the daemon. */
  #guard(work: Promise<void>, session: SMTPServerSession, fail: (err: Error) => void): void {
    work.catch((err: unknown) => {
      this.#ctx.log.error({ err, surface: 'smtp', cid: session.id }, 'SMTP hook failed');
      fail(replyError(SMTP_REPLIES.internal));
    });
  }

  #onConnect(server: SMTPServer, session: SMTPServerSession, done: Done): void {
    let handle: ConnectionHandle | undefined;
    for (const candidate of server.connections) {
      if (candidate.session === session) handle = candidate;
    }
    if (!handle) return done(replyError(SMTP_REPLIES.internal));
    // the client address as smtp-server took it from a trusted proxy's PROXY header, else the peer
    const admission = this.#o.gate.admit(session.remoteAddress);
    if (!admission.ok) return done(replyError(SMTP_REPLIES.tooManyConnections));
    const log = this.#ctx.log.child({ surface: 'smtp', cid: session.id, ip: session.remoteAddress });
    const loginDeadline = setTimeout(() => this.#onLoginDeadline(session.id), this.#o.loginTimeoutMs).unref();
    this.#connections.set(session.id, { handle, log, failures: 0, login: null, relay: null, opening: null, closed: false, ticket: admission.ticket, loginDeadline });
    done();
  }

  /** STARTTLS makes smtp-server forget the login (RFC 3207); the registry and the upstream session go with it. */
  #onSecure(session: SMTPServerSession, done: Done): void {
    const connection = this.#connections.get(session.id);
    if (connection) {
      this.#dropUpstream(connection, false);
      this.#logout(connection);
    }
    done();
  }

  async #onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, done: (err: Error | null, response?: SMTPServerAuthenticationResponse) => void): Promise<void> {
    const connection = this.#connections.get(session.id);
    const refuse = (reply: FrontReply) => done(null, { responseCode: reply.code, message: reply.text });
    if (!connection) return refuse(SMTP_REPLIES.internal);
    const { log } = connection;
    if (connection.failures >= this.#o.maxAuthFailures) {
      log.info({ failures: connection.failures }, 'too many authentication failures: closing');
      return refuse(SMTP_REPLIES.tooManyAuthFailures);
    }
    const clientIp = session.remoteAddress;
    if (!session.secure && !this.#ctx.trustedNetworks.has(clientIp)) {
      // refused before anything is checked: a password sent in clear from outside is never verified
      connection.failures++;
      log.warn({ method: auth.method }, 'AUTH before TLS from an untrusted network refused');
      return refuse(SMTP_REPLIES.encryptionRequired);
    }
    const username = auth.username ?? '';
    if (auth.method === 'PLAIN' && !authzidPermitted(auth.authzid ?? '', auth.authcid ?? '')) {
      // acting as another identity (RFC 4616 authzid) is not something a device password grants
      connection.failures++;
      log.info({ method: auth.method, address: auth.authcid }, 'AUTH PLAIN with a different authorization identity refused');
      return refuse(SMTP_REPLIES.authzidRefused);
    }
    try {
      const clientName = session.hostNameAppearsAs || null;
      const result = await this.#ctx.authenticator.authenticate({ address: username, password: auth.password ?? '', protocol: 'smtp', clientIp, trusted: this.#ctx.trustedNetworks.has(clientIp), clientName });
      if (connection.closed) return done(null, {});
      if (!result.ok) {
        const reply = authReply(result).smtp;
        if (!result.temporary) connection.failures++;
        log.debug({ method: auth.method, address: result.address ?? username.slice(0, 254), reason: result.reason }, 'SMTP login failed');
        return refuse({ code: reply.code, text: `${reply.enhanced} ${reply.text}` });
      }
      const since = Date.now();
      const unregister = this.#ctx.registry.register(
        { address: result.address, deviceId: result.deviceId, deviceName: result.deviceName, protocol: 'smtp', clientIp, clientName, since },
        () => this.#revoked(connection),
      );
      connection.login = { address: result.address, deviceId: result.deviceId, deviceName: result.deviceName, unregister };
      clearTimeout(connection.loginDeadline);
      connection.ticket.authenticated();
      log.debug({ method: auth.method, address: result.address, device: result.deviceName, cached: result.cached }, 'SMTP login');
      done(null, { user: result.address });
      // the client's MAIL FROM is a round trip away: connecting and handing over meanwhile hides that work
      connection.opening = Relay.open(this.#o.relay, { address: result.address, clientIp, clientName });
    } catch (err) {
      log.error({ err }, 'SMTP login could not be decided');
      done(null, temporaryAuthFailure());
    }
  }

  async #onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, done: Done): Promise<void> {
    const connection = this.#connections.get(session.id);
    const login = connection?.login;
    if (!connection || !login) return done(replyError(SMTP_REPLIES.authRequired));
    if (!this.#o.senderPolicy.allows(login.address, address.address)) {
      connection.log.info({ address: login.address, from: address.address.slice(0, 254) }, 'sender address refused by policy');
      return done(replyError(SMTP_REPLIES.senderRefused));
    }
    const identity = { address: login.address, clientIp: session.remoteAddress, clientName: session.hostNameAppearsAs || null };
    // one upstream connection serves the whole session; one that went stale (idle timeout upstream) is replaced once
    for (let attempt = 0; attempt < 2; attempt++) {
      let relay = connection.relay;
      let reused = relay !== null && relay.usable;
      if (!reused) {
        this.#dropRelay(connection);
        const pending = connection.opening;
        connection.opening = null;
        const opened = await (pending ?? Relay.open(this.#o.relay, identity));
        if (connection.closed) return opened.relay?.destroy();
        if (!opened.relay) {
          if (pending && attempt === 0) continue;
          this.#ctx.tallies.upstreamErrors.add('smtp', opened.verdict.code >= 500 ? 'refused' : 'unavailable');
          return this.#answer(connection, 'connect', opened.verdict, done);
        }
        relay = connection.relay = opened.relay;
        reused = pending !== null;
      }
      const verdict = await relay!.mail(address.address, address.args);
      if (connection.closed) return;
      if (reused && !relay!.usable) continue;
      return this.#answer(connection, 'MAIL FROM', verdict, done);
    }
    this.#answer(connection, 'MAIL FROM', SMTP_REPLIES.upstreamUnavailable, done);
  }

  async #onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, done: Done): Promise<void> {
    const connection = this.#connections.get(session.id);
    const relay = connection?.relay;
    if (!connection || !relay) return done(replyError(SMTP_REPLIES.upstreamUnavailable));
    this.#answer(connection, 'RCPT TO', await relay.rcpt(address.address), done);
  }

  async #onData(stream: SMTPServerDataStream, session: SMTPServerSession, done: (err?: Error | null, message?: string) => void): Promise<void> {
    const connection = this.#connections.get(session.id);
    const relay = connection?.relay;
    if (!connection || !relay) return done(replyError(SMTP_REPLIES.upstreamUnavailable));
    // an oversized message or a closed session is never committed upstream
    const verdict = await relay.data(stream, () => stream.sizeExceeded || connection.closed);
    if (stream.sizeExceeded) return done(replyError(SMTP_REPLIES.messageTooBig));
    connection.log.info({ address: connection.login?.address, code: verdict.code, bytes: stream.byteLength }, 'message relayed');
    if (verdict.code >= 400) return done(replyError(verdict));
    done(null, verdict.text);
  }

  #onClose(session: SMTPServerSession): void {
    const connection = this.#connections.get(session.id);
    if (!connection) return;
    connection.closed = true;
    clearTimeout(connection.loginDeadline);
    connection.ticket.release();
    this.#dropUpstream(connection, true);
    this.#logout(connection);
    this.#connections.delete(session.id);
  }

  #onLoginDeadline(id: string): void {
    const connection = this.#connections.get(id);
    if (!connection || connection.closed || connection.login) return;
    this.#o.gate.hit('login_timeout', connection.handle.session.remoteAddress);
    connection.log.debug('not logged in by the login deadline: closing');
    this.#end(connection, SMTP_REPLIES.loginTimeout);
  }

  #answer(connection: Connection, step: string, verdict: Verdict, done: Done): void {
    if (verdict.code < 400) return done();
    connection.log.info({ step, code: verdict.code, reply: verdict.text.slice(0, 200) }, 'upstream refused');
    done(replyError(verdict));
  }

  /** The registry's close: the device was revoked or reset. */
  #revoked(connection: Connection): void {
    connection.log.info({ address: connection.login?.address, device: connection.login?.deviceName }, 'session revoked: closing');
    connection.login = null;
    this.#end(connection, SMTP_REPLIES.sessionRevoked);
  }

  #end(connection: Connection, reply: FrontReply): void {
    connection.closed = true;
    this.#dropUpstream(connection, true);
    // a 421 makes smtp-server close the connection after the reply
    connection.handle.send(reply.code, reply.text);
    connection.handle.close();
  }

  #dropRelay(connection: Connection, abrupt = false): void {
    const relay = connection.relay;
    connection.relay = null;
    if (abrupt) relay?.destroy();
    else relay?.close();
  }

  /** Ends the session's upstream entirely: the open relay and one still being opened. */
  #dropUpstream(connection: Connection, abrupt: boolean): void {
    this.#dropRelay(connection, abrupt);
    const pending = connection.opening;
    connection.opening = null;
    void pending?.then(({ relay }) => (abrupt ? relay?.destroy() : relay?.close()));
  }

  #logout(connection: Connection): void {
    connection.login?.unregister();
    connection.login = null;
  }
}

function temporaryAuthFailure(): SMTPServerAuthenticationResponse {
  const reply = AUTH_REPLIES.temporary.smtp;
  return { responseCode: reply.code, message: `${reply.enhanced} ${reply.text}` };
}
