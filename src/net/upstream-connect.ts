/**
 * Reaching a proxied session's upstream (Dovecot's IMAP or POP3): a TCP
 * connection with a deadline, and TLS on top of it (implicit, or after the
 * protocol's STARTTLS/STLS) with the certificate always verified.
 */
import net, { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { UpstreamError } from './upstream-error.js';
import { formatHostPort } from './address.js';

export interface UpstreamTlsOptions {
  /** Trust anchors for the upstream's certificate (PEM) instead of the system store. */
  ca?: string | Buffer | (string | Buffer)[];
}

export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UpstreamError('timeout', `no connection to upstream ${formatHostPort(host, port)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new UpstreamError('unreachable', `cannot connect to upstream ${formatHostPort(host, port)}: ${err.code ?? err.message}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // mail protocols are many small request/response lines; Nagle would add delay to each
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

export function startTls(socket: Socket, host: string, options: UpstreamTlsOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      host,
      // SNI carries names only; the certificate is still checked against an IP host
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      minVersion: 'TLSv1.2',
    });
    const fail = (err: UpstreamError) => {
      clearTimeout(timer);
      secure.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new UpstreamError('timeout', `TLS handshake with the upstream took over ${timeoutMs} ms`)), timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => fail(new UpstreamError('tls', `TLS with the upstream failed: ${err.code ?? err.message}`, { cause: err }));
    const onClose = () => fail(new UpstreamError('tls', 'upstream closed the connection during the TLS handshake'));
    secure.once('error', onError);
    secure.once('close', onClose);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.off('error', onError);
      secure.off('close', onClose);
      resolve(secure);
    });
  });
}
