import net from 'node:net';

/**
 * A loopback TCP relay that can be cut off without closing anything: a
 * network partition as a node sees it. Its sockets stay open, no RST and no
 * FIN arrive, the bytes already sent sit in buffers; after heal() they flow
 * again as if the network had come back.
 */
export interface TcpProxy {
  port: number;
  /** Stops every byte, both ways, on the open connections and on new ones. */
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let cut = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on('data', (chunk) => {
        if (!to.write(chunk)) from.pause();
      });
      to.on('drain', () => {
        if (!cut) from.resume();
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        to.destroy();
        pairs.delete(pair);
      });
    }
    if (cut) for (const socket of pair) socket.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    partition() {
      cut = true;
      for (const pair of pairs) for (const socket of pair) socket.pause();
    },
    heal() {
      cut = false;
      for (const pair of pairs) for (const socket of pair) socket.resume();
    },
    async close() {
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A relay in front of the server a URL names (e.g. a PostgreSQL connection string), and the same URL through it. */
export async function startUrlProxy(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const direct = new URL(url);
  const proxy = await startTcpProxy(direct.hostname, Number(direct.port));
  const relayed = new URL(url);
  relayed.port = String(proxy.port);
  return { proxy, url: relayed.toString() };
}
