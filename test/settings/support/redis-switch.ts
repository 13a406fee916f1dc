import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A switch in front of the local Upstash endpoint: while `down`, every request's connection is
 * dropped (what a client sees when Redis is unreachable); otherwise requests pass through as they are.
 */
export interface RedisSwitch {
  readonly url: string;
  down: boolean;
  close(): Promise<void>;
}

export async function startRedisSwitch(target: string): Promise<RedisSwitch> {
  const state = { down: false };
  const server = createServer(async (request, response) => {
    if (state.down) {
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) if (typeof value === "string" && name !== "host" && name !== "content-length") headers[name] = value;
    try {
      const answer = await fetch(target + (request.url ?? "/"), { method: request.method ?? "POST", headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) });
      const body = Buffer.from(await answer.arrayBuffer());
      response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
      response.end(body);
    } catch {
      request.socket.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
