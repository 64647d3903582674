import { isIP } from 'node:net';
import type { LoginAttempt, LoginResult, Protocol } from '../auth/types.js';
import { AUTH_REPLIES, authReply } from '../errors/auth-replies.js';
import type { Logger } from '../log/logger.js';
import { unmapIpv4 } from '../net/networks.js';
import { formatCont, formatFail, formatOk, parseAuth, parseCont, parseLine, parseVersion, PROTOCOL_MAJOR, ProtocolError, type AuthRequest } from './codec.js';
import { isMechanism, startMechanism, type Credentials, type MechanismState } from './mechanisms.js';
import { authzidPermitted } from '../sasl/authzid.js';

/** Dovecot services and the scope each one needs; any other service is refused. */
const SERVICE_SCOPES: Readonly<Record<string, Protocol>> = { smtp: 'smtp', submission: 'smtp', imap: 'imap', pop3: 'pop3' };

/** Stands for the client when a Unix-socket peer sent no rip=: not an IP, so never "trusted". */
export const UNKNOWN_CLIENT = 'unknown';

/** `[dovecot_auth] max_pending_per_connection`'s default. */
export const DEFAULT_MAX_PENDING = 256;

export interface RequestDeps {
  authenticate(attempt: LoginAttempt): Promise<LoginResult>;
  log: Logger;
  /** The connection's peer IP (TCP), or null on a Unix socket. */
  peerIp: string | null;
  /**
   * The listener vouches for this connection's clients (a trusted socket, a
   * peer in trusted_peers): their attempts skip the failure delay and the
   * lockout. Never taken from rip=, which any peer can write.
   */
  trusted: boolean;
  /** Writes reply text to the connection (ignored once it is closed). */
  send(text: string): void;
  /** Requests (waiting for CONT or for a verdict) one connection may hold; more answer a temporary FAIL. */
  maxPending?: number;
  /** Told when a request is refused because maxPending are unanswered. */
  onTooManyPending?(): void;
  /** Told of every verdict, for metrics. */
  onResult?(protocol: Protocol, result: LoginResult): void;
}

interface Pending {
  request: AuthRequest;
  mechanism: MechanismState;
  /** Set while the Authenticator decides: CONT for this id is then a protocol error. */
  deciding: boolean;
}

/**
 * One connection's side of the protocol after framing: the handshake state,
 * the AUTH requests in progress by id (many at once, answered in whatever
 * order their verdicts arrive), and the mechanism rounds. Throws
 * ProtocolError for anything that should end the connection.
 */
export class RequestOrchestrator {
  readonly #d: RequestDeps;
  readonly #maxPending: number;
  readonly #pending = new Map<number, Pending>();
  #versionSeen = false;
  #closed = false;

  constructor(deps: RequestDeps) {
    this.#d = deps;
    this.#maxPending = deps.maxPending ?? DEFAULT_MAX_PENDING;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Requests the Authenticator is deciding; the others wait for the client's CONT. */
  get deciding(): number {
    let n = 0;
    for (const p of this.#pending.values()) if (p.deciding) n++;
    return n;
  }

  handleLine(text: string): void {
    if (this.#closed) return;
    const { command, args } = parseLine(text);
    switch (command) {
      case 'VERSION': {
        const { major } = parseVersion(args);
        if (major !== PROTOCOL_MAJOR) throw new ProtocolError(`client speaks protocol version ${major}`);
        this.#versionSeen = true;
        return;
      }
      case 'CPID':
        return;
      case 'AUTH':
        this.#requireVersion(command);
        return this.#auth(parseAuth(args));
      case 'CONT':
        this.#requireVersion(command);
        return this.#cont(parseCont(args));
      default:
        // never echoed: a confused client may send anything, a password included
        throw new ProtocolError(`unknown command (${command.length} characters)`);
    }
  }

  /** The client went away: verdicts still on their way are dropped. */
  close(): void {
    this.#closed = true;
    this.#pending.clear();
  }

  #requireVersion(command: string): void {
    if (!this.#versionSeen) throw new ProtocolError(`${command} before VERSION`);
  }

  #auth(request: AuthRequest): void {
    if (this.#pending.has(request.id)) throw new ProtocolError(`request id ${request.id} already in use`);
    if (!isMechanism(request.mechanism)) {
      this.#d.send(formatFail(request.id, { reason: 'Unsupported authentication mechanism', temporary: false }));
      return;
    }
    if (this.#pending.size >= this.#maxPending) {
      this.#d.onTooManyPending?.();
      this.#d.send(formatFail(request.id, AUTH_REPLIES.temporary.sasl));
      return;
    }
    const pending: Pending = { request, mechanism: startMechanism(request.mechanism), deciding: false };
    this.#pending.set(request.id, pending);
    this.#step(pending, request.resp);
  }

  #cont({ id, data }: { id: number; data: string }): void {
    const pending = this.#pending.get(id);
    // Dovecot treats a CONT for an id it does not know as a client bug, and so do we
    if (!pending || pending.deciding) throw new ProtocolError(`CONT for unknown request id ${id}`);
    this.#step(pending, data);
  }

  #step(pending: Pending, payload: string | null): void {
    const { id } = pending.request;
    const step = pending.mechanism.step(payload);
    if (step.kind === 'challenge') {
      this.#d.send(formatCont(id, step.base64));
      return;
    }
    if (step.kind === 'invalid') {
      this.#pending.delete(id);
      this.#d.log.info({ id, mechanism: pending.request.mechanism, why: step.why }, 'dovecot-auth: malformed SASL response');
      this.#d.send(formatFail(id, AUTH_REPLIES.failed.sasl));
      return;
    }
    pending.deciding = true;
    void this.#decide(pending, step.credentials);
  }

  async #decide(pending: Pending, credentials: Credentials): Promise<void> {
    const { request } = pending;
    const finish = (text: string) => {
      // a verdict for a client that went away is dropped
      if (this.#closed || this.#pending.get(request.id) !== pending) return;
      this.#pending.delete(request.id);
      this.#d.send(text);
    };
    const scope = SERVICE_SCOPES[request.service];
    if (!scope) {
      this.#d.log.info({ id: request.id, service: request.service.slice(0, 64) }, 'dovecot-auth: service not served');
      return finish(formatFail(request.id, { user: credentials.user, ...AUTH_REPLIES.failed.sasl }));
    }
    if (!authzidPermitted(credentials.authzid, credentials.user)) {
      // logging in as someone else would need a master-user policy devicepass does not have
      this.#d.log.info({ id: request.id, service: request.service }, 'dovecot-auth: authorization identity refused');
      return finish(formatFail(request.id, { user: credentials.user, ...AUTH_REPLIES.failed.sasl }));
    }
    let result: LoginResult;
    try {
      result = await this.#d.authenticate({ address: credentials.user, password: credentials.password, protocol: scope, clientIp: this.#clientIp(request), trusted: this.#d.trusted, clientName: null });
    } catch (err) {
      this.#d.log.error({ err, id: request.id }, 'dovecot-auth: login could not be decided');
      return finish(formatFail(request.id, { user: credentials.user, ...AUTH_REPLIES.temporary.sasl }));
    }
    this.#d.onResult?.(scope, result);
    if (result.ok) return finish(formatOk(request.id, result.address));
    finish(formatFail(request.id, { user: credentials.user, ...authReply(result).sasl }));
  }

  #clientIp(request: AuthRequest): string {
    if (request.rip && isIP(request.rip)) return unmapIpv4(request.rip);
    return this.#d.peerIp ?? UNKNOWN_CLIENT;
  }
}
