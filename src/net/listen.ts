import type net from 'node:net';
import { parseListen, type ListenAddress } from './address.js';
import { removeStaleSocket } from './unix-socket.js';

/**
 * Binds `server` to one configured address ("host:port", "[v6]:port" or a
 * Unix socket path, already resolved against data_dir). A leftover Unix
 * socket file from a previous run is removed first; a live one (another
 * running process listens on it) is refused, never taken over. Resolves with the bound
 * address so tests can listen on port 0.
 */
export async function listenOn(server: net.Server, address: string): Promise<ListenAddress> {
  const parsed = parseListen(address);
  if (!parsed) throw new Error(`not a listen address: ${address}`);
  if (parsed.kind === 'unix') await removeStaleSocket(parsed.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (parsed.kind === 'unix') server.listen(parsed.path, done);
    else server.listen(parsed.port, parsed.host, done);
  });
  const bound = server.address();
  return bound && typeof bound === 'object' ? { kind: 'tcp', host: bound.address, port: bound.port } : parsed;
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
