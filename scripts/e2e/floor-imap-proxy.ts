/**
 * The least a Node IMAP login proxy can do, for the benchmark's "Node floor":
 * greet, read one LOGIN line (credentials ignored), open the upstream, send
 * ID and the master AUTHENTICATE PLAIN in one write, answer OK on the
 * upstream's OK, then relay both ways with backpressure. No parser, no
 * authentication, no registry, no logs, no limits — never a front, only a
 * measure of what Node's sockets cost per proxied login on this host.
 * Run as its own process; prints its port, and its CPU time on SIGTERM.
 * Usage: node dist/scripts/e2e/floor-imap-proxy.js <upstream port> <master user> <master password>
 */
import net from 'node:net';

const [upstreamPort, masterUser, masterPassword] = [Number(process.argv[2]), process.argv[3] ?? '', process.argv[4] ?? ''];

function relay(from: net.Socket, to: net.Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (to.write(chunk)) return;
    from.pause();
    to.once('drain', () => from.resume());
  });
  from.once('end', () => to.end());
}

function serve(client: net.Socket): void {
  client.setNoDelay(true);
  client.on('error', () => undefined);
  client.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] floor proxy ready\r\n');
  let line = '';
  const onLogin = (chunk: Buffer) => {
    line += chunk.toString('latin1');
    const end = line.indexOf('\r\n');
    if (end < 0) return;
    client.off('data', onLogin);
    client.pause();
    const tag = line.slice(0, line.indexOf(' '));
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    upstream.setNoDelay(true);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    let answer = '';
    let greeted = false;
    const onUpstream = (data: Buffer) => {
      answer += data.toString('latin1');
      if (!greeted) {
        if (!answer.includes('\r\n')) return;
        greeted = true;
        answer = '';
        const payload = Buffer.from(`bench@example.com\0${masterUser}\0${masterPassword}`).toString('base64');
        upstream.write(`D3 ID ("x-originating-ip" "${client.remoteAddress ?? ''}")\r\nD4 AUTHENTICATE PLAIN ${payload}\r\n`);
        return;
      }
      if (!/(^|\r\n)D4 [^\r\n]*\r\n$/.test(answer)) return;
      upstream.off('data', onUpstream);
      client.write(`${tag} ${answer.includes('\r\nD4 OK') || answer.startsWith('D4 OK') ? 'OK' : 'NO'} Logged in\r\n`);
      relay(client, upstream);
      relay(upstream, client);
      client.resume();
    };
    upstream.on('data', onUpstream);
  };
  client.on('data', onLogin);
}

const server = net.createServer(serve);
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
