import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';

/** An emulator's HTTPS server once listening: its origin, and how to stop it (open connections included). */
export interface ListeningServer {
  origin: string;
  close(): Promise<void>;
}

/** Starts `server` on `host:port` (0 picks a free port) and resolves once it listens, or rejects, e.g. port in use. */
export async function listenHttps(server: Server, port: number, host: string): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: boundPort } = server.address() as AddressInfo;
  return {
    origin: `https://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((cause) => (cause ? reject(cause) : resolve()));
        server.closeAllConnections();
      }),
  };
}
