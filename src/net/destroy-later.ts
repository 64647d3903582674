import type { Socket } from 'node:net';

/**
 * Destroys `socket` after `ms` unless it closes first, and then forgets it:
 * a plain timer would hold the socket and all it references for the whole
 * delay, long enough for V8 to move them to the old generation, and with a
 * session ending every millisecond that alone kept major collections busy.
 */
export function destroyLater(socket: Socket, ms: number): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), ms).unref();
  socket.once('close', () => clearTimeout(timer));
}
