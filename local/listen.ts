import type { Server } from "node:http";
import { isIPv6 } from "node:net";
import type { AddressInfo } from "node:net";

/** Listens on host:port (0 = a free port) and returns the `host:port` authority clients should use. */
export async function listenLocal(server: Server, host: string, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return `${isIPv6(host) ? `[${host}]` : host}:${bound}`;
}
