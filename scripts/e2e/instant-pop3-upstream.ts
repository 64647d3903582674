/**
 * The least a POP3 upstream can be, for measuring devicepass alone: accepts
 * any master login at once and then holds the session idle, answering NOOP,
 * STAT and QUIT. Its greeting offers [XCLIENT] as Dovecot's does for
 * login_trusted_networks (the documented setup), so devicepass's login
 * takes the same steps as in front of Dovecot. Run as its own process (it prints its port) so the sockets
 * it holds count against its file limit, not the daemon's.
 * Usage: node dist/scripts/e2e/instant-pop3-upstream.js
 */
import net from 'node:net';

function serve(socket: net.Socket): void {
  let buffer = '';
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.write('+OK [XCLIENT] instant upstream ready\r\n');
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const command = (line.split(' ')[0] ?? '').toUpperCase();
      if (command === 'QUIT') socket.end('+OK Logging out\r\n');
      else if (command === 'STAT') socket.write('+OK 0 0\r\n');
      else socket.write('+OK\r\n');
    }
  });
}

const server = net.createServer(serve);
server.maxConnections = 100_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
