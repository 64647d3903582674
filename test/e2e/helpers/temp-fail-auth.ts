import { chmodSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * A stand-in Dovecot SASL server that answers every AUTH with `FAIL …
 * code=temp_fail`, on a Unix socket in `dir`: what an MTA makes of
 * devicepass's temporary failures, without arranging one in devicepass.
 */
export interface TempFailAuthServer {
  socketPath: string;
  close(): Promise<void>;
}

export async function startTempFailAuthServer(dir: string): Promise<TempFailAuthServer> {
  const server = net.createServer((socket) => {
    socket.write('VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t1\nCOOKIE\t00\nDONE\n');
    socket.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/^AUTH\t(\d+)\t/gm)) socket.write(`FAIL\t${m[1]}\tcode=temp_fail\ttemp\treason=Temporary authentication failure\n`);
    });
    socket.on('error', () => undefined);
  });
  const socketPath = path.join(dir, 'auth.sock');
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  // the MTA's processes run as their own users
  chmodSync(socketPath, 0o666);
  return {
    socketPath,
    close: () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
  };
}
