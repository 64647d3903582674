import { chmodSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from '../../helpers/env.js';

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

export interface BehindTempFail<T> {
  /** The MTA, authenticating against `fake`. */
  mta: T;
  fake: TempFailAuthServer;
  /** Stops the MTA, closes the fake (if still open) and removes the folder. */
  stop(): Promise<void>;
}

/**
 * A TempFailAuthServer in a fresh temp folder named after `prefix`, and the
 * MTA `start` points at its socket: the setup of every MTA's temporary-failure
 * suite. A failed start leaves nothing behind.
 */
export async function startBehindTempFail<T extends { stop(): Promise<void> }>(
  prefix: string,
  start: (socketPath: string) => Promise<T>,
): Promise<BehindTempFail<T>> {
  const tmp = tempDir(prefix);
  let fake: TempFailAuthServer | undefined;
  try {
    fake = await startTempFailAuthServer(tmp.dir);
    const mta = await start(fake.socketPath);
    const started = fake;
    return {
      mta,
      fake: started,
      stop: async () => {
        await mta.stop();
        await started.close();
        tmp.cleanup();
      },
    };
  } catch (err) {
    await fake?.close();
    tmp.cleanup();
    throw err;
  }
}
