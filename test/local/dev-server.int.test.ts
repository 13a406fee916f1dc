import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { rawHttp } from "../support/raw-http";

let app: AppEnv;
let server: DevServer;
let port: number;

beforeAll(async () => {
  app = await useAppEnv();
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server?.close();
  await app?.database.drop();
});

const get = (target: string) => rawHttp(port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);

async function expectStillServing(): Promise<void> {
  const health = await fetch(`${server.url}/health`);
  expect(health.status).toBe(200);
}

describe("the dev server refuses malformed requests with 400, as API Gateway does, and keeps serving", () => {
  const malformedParameters: readonly (readonly [what: string, path: string])[] = [
    ["a truncated UTF-8 escape", "/v1/lookups/%E0%A4%A"],
    ["a lone %", "/v1/lookups/%"],
    ["a %u escape", "/v1/lookups/%u0000"],
    ["an encoded surrogate", "/v1/lookups/%ED%A0%80"],
    ["overlong UTF-8", "/v1/lookups/%C0%AF"],
    ["an invalid escape in another route's parameter", "/v1/admin/mappings/%FF%FE"],
  ];
  for (const [what, path] of malformedParameters) {
    it(`a path parameter with ${what}: ${path}`, async () => {
      const reply = await get(path);
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.body)).toEqual({ message: "Bad Request" });
      await expectStillServing();
    });
  }

  const malformedTargets: readonly (readonly [what: string, target: string])[] = [
    ["an unparseable absolute URL", "http://["],
    ["a path starting with //", "//[::1"],
    ["an unencoded [ in the path", "/v1/lookups/[::1]"],
    ["a broken escape in the query", "/v1/admin/mappings?telegramId=%G1"],
  ];
  for (const [what, target] of malformedTargets) {
    it(`${what}: GET ${target}`, async () => {
      const reply = await get(target);
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.body)).toEqual({ message: "Bad Request" });
      await expectStillServing();
    });
  }

  it("HTTP its parser refuses (a header without a colon, a huge header): 400 or 431 in JSON", async () => {
    const badHeader = await rawHttp(port, "GET /health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n");
    expect(badHeader.status).toBe(400);
    expect(JSON.parse(badHeader.body)).toEqual({ message: "Bad Request" });
    const hugeHeader = await rawHttp(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(hugeHeader.status).toBe(431);
    await expectStillServing();
  });

  it("answers a request it refuses while the client is still sending, instead of resetting the connection", async () => {
    const body = Buffer.alloc(4 * 1024 * 1024, 0x95);
    const head = (length: number) => Buffer.from(`PATCH /v1/admin/mappings/1 HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`);
    const oversized = Buffer.alloc(11 * 1024 * 1024, 0x95);
    // Ten of each at once: a reset loses the answer only sometimes.
    const replies = await Promise.all([
      // A body longer than its Content-Length: the rest reads as a second request the parser refuses.
      ...Array.from({ length: 10 }, () => rawHttp(port, Buffer.concat([head(body.length / 2), body]))),
      // A declared body over the 10 MB limit.
      ...Array.from({ length: 10 }, () => rawHttp(port, Buffer.concat([head(oversized.length), oversized]))),
    ]);
    expect(replies.map((reply) => reply.status).filter((status) => status === 0 || status >= 500)).toEqual([]);
    // The request before the extra bytes is answered (no token: 401); the extra bytes get no answer of their own.
    expect(replies.slice(0, 10).map((reply) => reply.status)).toEqual(Array(10).fill(401));
    expect(replies.slice(10).map((reply) => reply.status)).toEqual(Array(10).fill(413));
    await expectStillServing();
  });

  it("still decodes well-formed parameters, and answers a well-formed absolute-form target", async () => {
    const reply = await get("/v1/lookups/%31%32%33");
    // No token: the function itself runs and refuses, so the parameter got through.
    expect(reply.status).toBe(401);
    const absolute = await get(`http://127.0.0.1:${port}/health`);
    expect(absolute.status).toBe(200);
  });
});
