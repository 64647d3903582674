import http from 'node:http';
import type net from 'node:net';
import type { Config } from '../config/load.js';
import { HttpListeners } from '../net/http-listeners.js';
import type { FrontContext, Surface, SurfaceFactory } from '../front-context.js';
import { HttpMetrics } from './metrics.js';
import { nginxAuth, type NginxAuthDeps, type NginxUpstreams } from './nginx-auth.js';

/** Requests carry only headers; a body is never read, and large headers are refused by node:http itself. */
const MAX_HEADER_BYTES = 8 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
/** What a connection over a limit reads before the close: HTTP's own "try later". */
const TOO_MANY_CONNECTIONS = 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** Status lines for requests node:http could not parse or did not receive in time; the rest is 400. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/** A request that cannot be parsed gets HTTP's own error, then the close, never silence (unless the client is already gone). */
function refuseUnparsable(err: Error & { code?: string }, socket: net.Socket): void {
  if (err.code !== 'ECONNRESET' && socket.writable && socket.bytesWritten === 0) {
    const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
  socket.destroySoon();
}

/** Where auth_http sends nginx after a good login: the [imap], [pop3] and [smtp] upstreams of `config`. */
function nginxUpstreams({ imap, pop3, smtp }: Config): NginxUpstreams {
  return {
    imap: { host: imap.upstream.host, port: imap.upstream.port, masterUser: imap.upstream.master_user, masterPassword: imap.upstream.master_password },
    pop3: { host: pop3.upstream.host, port: pop3.upstream.port, masterUser: pop3.upstream.master_user, masterPassword: pop3.upstream.master_password },
    smtp: { host: smtp.upstream.host, port: smtp.upstream.port },
  };
}

/** /healthz, /metrics and nginx auth_http (/auth/nginx) on every `[http] listen` address. */
export const httpSurface: SurfaceFactory = (ctx) => (ctx.config.http.listen.length === 0 ? null : new HttpSurface(ctx));

class HttpSurface implements Surface {
  readonly name = 'http';
  readonly #ctx: FrontContext;
  readonly #listeners: HttpListeners<http.Server>;
  readonly #metrics: HttpMetrics;
  readonly #nginx: NginxAuthDeps;

  constructor(ctx: FrontContext) {
    this.#ctx = ctx;
    this.#metrics = new HttpMetrics(ctx.registry, ctx.authenticator, ctx.connections, ctx.storeStats, ctx.tallies);
    const config = ctx.config.http;
    this.#listeners = new HttpListeners({
      gate: ctx.connections.gate('http', { maxConnections: config.max_connections, maxPerNetwork: config.max_connections_per_network }),
      refusal: TOO_MANY_CONNECTIONS,
    });
    this.#nginx = {
      authenticate: (attempt) => ctx.authenticator.authenticate(attempt),
      isTrustedNetwork: (ip) => ctx.trustedNetworks.has(ip),
      log: ctx.log,
      // [http] is bound at start (src/reload.ts): the listeners and the secret stay
      secret: config.nginx_secret,
      // the upstreams are reloadable: read at each answer from ctx.config, which a reload replaces
      get upstreams() {
        return nginxUpstreams(ctx.config);
      },
      onResult: (protocol, result) => this.#metrics.login('auth_http', protocol, result),
    };
  }

  async start(): Promise<void> {
    const bound = await this.#listeners.listen(this.#ctx.config.http.listen, () => {
      const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
        this.#handle(req, res).catch((err: unknown) => {
          this.#ctx.log.error({ err, surface: 'http' }, 'http: request failed');
          if (!res.headersSent) res.writeHead(500);
          res.end();
        });
      });
      server.on('clientError', (err: Error & { code?: string }, socket: net.Socket) => refuseUnparsable(err, socket));
      return server;
    });
    for (const listen of bound) this.#ctx.log.info({ surface: 'http', listen, nginxAuth: this.#nginx.secret !== '' }, 'HTTP surface listening');
  }

  stop(): Promise<void> {
    return this.#listeners.stop();
  }

  addresses(): string[] {
    return this.#listeners.addresses();
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.#listeners.refused(req)) return void req.socket.destroy();
    const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    // auth_http replies are read by nginx over HTTP/1.0; keeping them short-lived is what it expects
    res.setHeader('Connection', 'close');
    switch (route) {
      case 'GET /healthz':
        return this.#health(res);
      case 'GET /metrics':
        res.writeHead(200, { 'Content-Type': this.#metrics.registry.contentType });
        res.end(await this.#metrics.registry.metrics());
        return;
      case 'GET /auth/nginx': {
        const reply = await nginxAuth(req.headers, this.#nginx);
        res.writeHead(reply.status, reply.headers);
        res.end();
        return;
      }
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found\n');
    }
  }

  #health(res: http.ServerResponse): void {
    const report = this.#ctx.health();
    if (report.status === 'failing') this.#ctx.log.warn({ health: report }, 'healthz: failing');
    res.writeHead(report.status === 'failing' ? 503 : 200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(report) + '\n');
  }
}
