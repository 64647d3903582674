/**
 * The least an IMAP upstream can be, for measuring devicepass alone: accepts
 * any master login at once and then holds the session idle, answering NOOP,
 * CAPABILITY and LOGOUT. Run as its own process (it prints its port) so the
 * sockets it holds count against its file limit, not the daemon's.
 * Usage: node dist/scripts/e2e/instant-imap-upstream.js
 */
import net from 'node:net';

const CAPS = 'IMAP4rev1 SASL-IR ID IDLE AUTH=PLAIN';

function serve(socket: net.Socket): void {
  let buffer = '';
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.write(`* OK [CAPABILITY ${CAPS}] instant upstream ready\r\n`);
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const [tag = '*', command = ''] = line.split(' ');
      switch (command.toUpperCase()) {
        case 'AUTHENTICATE':
          socket.write(`${tag} OK [CAPABILITY IMAP4rev1 IDLE NAMESPACE] Logged in\r\n`);
          break;
        case 'LOGOUT':
          socket.end(`* BYE Logging out\r\n${tag} OK Logout completed\r\n`);
          break;
        case 'CAPABILITY':
          socket.write(`* CAPABILITY ${CAPS}\r\n${tag} OK done\r\n`);
          break;
        default:
          socket.write(`${tag} OK done\r\n`);
      }
    }
  });
}

const server = net.createServer(serve);
server.maxConnections = 100_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
