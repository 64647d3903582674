/**
 * Who a fresh connection comes from: the TCP peer, or — when the peer is a
 * trusted proxy — what its PROXY v1/v2 header says. A trusted proxy must send
 * the header; from anyone else a header is never read here (the front refuses
 * one that arrives as the first bytes).
 */
import type { Socket } from 'node:net';
import type { NetworkSet } from './networks.js';
import { unmapIpv4 } from './networks.js';
import { readProxyHeader } from './proxy-protocol.js';

export interface ClientEndpoint {
  readonly clientIp: string;
  readonly clientPort: number;
  readonly localIp: string;
  readonly localPort: number;
}

/** Resolves the endpoint; rejects (the caller closes the socket) when a trusted proxy's header is bad, missing or late. */
export async function resolveEndpoint(socket: Socket, trustedProxies: NetworkSet, headerTimeoutMs: number): Promise<ClientEndpoint | null> {
  const peer = socket.remoteAddress;
  if (peer === undefined) return null;
  const direct: ClientEndpoint = {
    clientIp: unmapIpv4(peer),
    clientPort: socket.remotePort ?? 0,
    localIp: unmapIpv4(socket.localAddress ?? ''),
    localPort: socket.localPort ?? 0,
  };
  if (!trustedProxies.has(peer)) return direct;
  const header = await readProxyHeader(socket, headerTimeoutMs);
  // a LOCAL header (the proxy's own health check) names nobody: the peer stands for itself
  if (!header.source || !header.destination) return direct;
  return {
    clientIp: unmapIpv4(header.source.address),
    clientPort: header.source.port,
    localIp: unmapIpv4(header.destination.address),
    localPort: header.destination.port,
  };
}
