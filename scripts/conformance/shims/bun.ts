/**
 * The two things the @upstash/redis tests import from `bun`: `sleep`, and `serve` (a mock HTTP
 * server on a port, answering with a fetch-style handler), on Node's http module.
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface ServeOptions {
  readonly port: number;
  fetch(request: Request): Response | Promise<Response>;
}

export function serve(options: ServeOptions): { port: number; stop(closeActiveConnections?: boolean): void } {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const method = req.method ?? "GET";
      const request = new Request(`http://localhost:${options.port}${req.url ?? "/"}`, {
        method,
        headers: Object.entries(req.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)] as [string, string]])),
        ...(method === "GET" || method === "HEAD" ? {} : { body: Buffer.concat(chunks) }),
      });
      try {
        const response = await options.fetch(request);
        res.writeHead(response.status, Object.fromEntries(response.headers));
        // Streamed as it comes, as Bun does: some tests send a body in timed chunks.
        if (response.body) for await (const chunk of response.body) res.write(chunk);
        res.end();
      } catch {
        res.destroy();
      }
    });
  };
  // The tests call http://localhost:<port>, which may resolve to either loopback address.
  const servers = ["127.0.0.1", "::1"].map((host) => {
    const server = createServer(handler);
    server.on("error", () => {}); // no IPv6 on this machine
    server.listen(options.port, host);
    return server;
  });
  return {
    port: options.port,
    stop(closeActiveConnections) {
      for (const server of servers) {
        if (closeActiveConnections) server.closeAllConnections();
        server.close();
      }
    },
  };
}
