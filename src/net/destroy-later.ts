import type { Socket } from 'node:net';

/**
 * Destroys `socket` after `ms` unless it closes first, and then forgets it:
 * a plain timer would hold the socket, and all it references, for the whole
 * delay after a session that usually closed at once.
 */
export function destroyLater(socket: Socket, ms: number): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), ms).unref();
  socket.once('close', () => clearTimeout(timer));
}
