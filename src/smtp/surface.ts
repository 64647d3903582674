import { hostname } from 'node:os';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { listenOn } from '../net/listen.js';
import { serverTlsOptions } from '../net/tls.js';
import type { FrontContext, Surface, SurfaceFactory } from '../front-context.js';
import { proxyAllowList } from './proxy-allow-list.js';
import { SMTP_REPLIES } from './replies.js';
import { SenderPolicy } from './sender-policy.js';
import { SubmissionFront } from './submission.js';
import { formatListen } from '../net/address.js';

/**
 * Commands a submission client never needs: XCLIENT/XFORWARD would let a client
 * claim another address or login, VRFY probes mailboxes, and WIZ/SHELL/KILL are
 * smtp-server's sendmail jokes that would otherwise be live commands.
 */
const DISABLED_COMMANDS = ['XCLIENT', 'XFORWARD', 'VRFY', 'WIZ', 'SHELL', 'KILL'];

/**
 * The SMTP submission front: one smtp-server per `[smtp] listen` address
 * (plain with STARTTLS) and per `listen_tls` address (implicit TLS), all
 * sharing one SubmissionFront that authenticates, applies the sender policy
 * and relays to `[smtp.upstream]`.
 */
export const smtpSurface: SurfaceFactory = (ctx) => {
  const { smtp } = ctx.config;
  if (smtp.listen.length + smtp.listen_tls.length === 0) return null;
  return new SmtpSurface(ctx);
};

class SmtpSurface implements Surface {
  readonly name = 'smtp';
  readonly #ctx: FrontContext;
  readonly #front: SubmissionFront;
  readonly #servers: SMTPServer[] = [];
  readonly #bound: string[] = [];
  readonly #serverName: string;
  readonly #closing: Array<Promise<void>> = [];

  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
    const { smtp } = ctx.config;
    this.#serverName = smtp.hostname || hostname();
    this.#front = new SubmissionFront(ctx, {
      ...this.#reloadable(),
      gate: ctx.connections.gate('smtp', {
        maxConnections: smtp.max_connections,
        maxPerNetwork: smtp.max_connections_per_network,
        maxUnauthenticated: smtp.max_unauthenticated,
        maxUnauthenticatedPerNetwork: smtp.max_unauthenticated_per_network,
      }),
    });
    // new handshakes (implicit TLS and STARTTLS) get a renewed certificate; smtp-server keeps its own contexts
    ctx.tls.onReplace((material) => {
      for (const server of this.#servers) server.updateSecureContext(serverTlsOptions(material));
    });
  }

  /** What a reload changes for the sessions that start after it. */
  #reloadable() {
    const { smtp } = this.#ctx.config;
    return {
      senderPolicy: new SenderPolicy(smtp.sender_policy, smtp.aliases),
      relay: { ...smtp.upstream, heloName: this.#serverName },
      maxAuthFailures: smtp.max_auth_failures,
      loginTimeoutMs: smtp.login_timeout,
    };
  }

  reload(): void {
    this.#front.reconfigure(this.#reloadable());
  }

  stopAccepting(): void {
    for (const server of this.#servers) this.#closing.push(new Promise<void>((resolve) => server.close(() => resolve())));
  }

  busy(): number {
    return this.#front.messagesInFlight;
  }

  async start(): Promise<void> {
    const { smtp } = this.#ctx.config;
    const useProxy = proxyAllowList(smtp.trusted_proxies);
    const listeners = [...smtp.listen.map((a) => ({ address: a, secure: false })), ...smtp.listen_tls.map((a) => ({ address: a, secure: true }))];
    for (const { address, secure } of listeners) {
      const server = this.#server(secure, useProxy);
      this.#servers.push(server);
      const bound = await listenOn(server.server, address);
      this.#bound.push(formatListen(bound));
      this.#ctx.log.info({ surface: 'smtp', listen: this.#bound.at(-1), tls: secure ? 'implicit' : 'starttls' }, 'SMTP submission listening');
    }
  }

  async stop(): Promise<void> {
    // stop accepting first, then end the live sessions; smtp-server resolves once every socket is gone
    if (this.#closing.length === 0) this.stopAccepting();
    this.#front.closeAll(SMTP_REPLIES.shuttingDown);
    await Promise.all(this.#closing);
    this.#servers.length = 0;
  }

  addresses(): string[] {
    return [...this.#bound];
  }

  #server(secure: boolean, useProxy: string[] | false): SMTPServer {
    const { smtp } = this.#ctx.config;
    let server: SMTPServer | undefined;
    const options: SMTPServerOptions = {
      ...serverTlsOptions(this.#ctx.tls.material),
      secure,
      name: this.#serverName,
      authMethods: ['PLAIN', 'LOGIN'],
      // AUTH before TLS is decided per client in SubmissionFront (trusted networks only); smtp-server can only decide per listener
      allowInsecureAuth: true,
      authRequiredMessage: SMTP_REPLIES.authRequired.text,
      disabledCommands: DISABLED_COMMANDS,
      useXClient: false,
      useXForward: false,
      useProxy,
      size: smtp.max_message_bytes,
      rejectOversized: true,
      maxRecipients: smtp.max_recipients,
      maxAllowedUnauthenticatedCommands: smtp.max_unauthenticated_commands,
      // a backstop per listener that also bounds sockets still in their PROXY header or TLS handshake.
      // The front's gate applies the limits (across listeners, per client network, with its log line
      // and metric); smtp-server also counts the refused connections that are still closing, hence twice
      maxClients: 2 * smtp.max_connections,
      // a reverse lookup per connection costs up to 1.5 s and tells a submission server nothing it needs
      disableReverseLookup: true,
      hideDSN: true,
      hideREQUIRETLS: true,
      // enhanced codes are written into our replies' text (see replies.ts)
      hideENHANCEDSTATUSCODES: true,
      logger: false,
      closeTimeout: 5_000,
      ...this.#front.hooks(() => server!),
    };
    server = new SMTPServer(options);
    server.on('error', (err: Error & { code?: string }) => {
      // client-side failures (resets, bad TLS handshakes) are routine; nothing here may take the daemon down
      this.#ctx.log.debug({ surface: 'smtp', err: { message: err.message, code: err.code } }, 'SMTP connection error');
    });
    return server;
  }
}
