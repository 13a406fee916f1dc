import { resolve } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueAccessToken } from "../../core/auth/tokens";
import type { Role } from "../../core/auth/tokens";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest, resolveHandler } from "../../local/sst-manifest";
import type { RouteDecl } from "../../local/sst-manifest";
import { TEST_JWT_SECRET, useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";

const settings = { secret: TEST_JWT_SECRET, issuer: "botstate" };
const token = (role: Role, subject = "00000000-0000-4000-8000-000000000001", now = new Date()) =>
  issueAccessToken(settings, { role, subject, ttlSeconds: 300 }, now);

let app: AppEnv;
let server: DevServer;

beforeAll(async () => {
  app = await useAppEnv();
  const manifest = await loadSstManifest();
  const echo: RouteDecl = {
    method: "POST",
    path: "/test/echo/{name}",
    function: {
      handler: resolveHandler(resolve("."), "test/fixtures/echo-route.handler"),
      timeoutSeconds: 5,
      memoryMb: 256,
      environment: {},
    },
  };
  server = await startDevServer({ routes: [...manifest.routes, echo] });
});

afterAll(async () => {
  await server?.close();
  await app?.database.drop();
});

async function call(path: string, init: { token?: string; body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(server.url + path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...init.headers,
    },
    body: init.body ?? JSON.stringify({ count: 2 }),
  });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string; fields?: { field: string }[]; requestId: string } } & Record<string, unknown> };
}

describe("GET /health", () => {
  it("reports redis, postgres and queue ok without a token", async () => {
    const response = await fetch(`${server.url}/health`);
    const body = (await response.json()) as { status: string; checks: Record<string, { status: string }> };
    expect(response.status).toBe(200);
    expect(body.status).toBe("ok");
    expect(Object.keys(body.checks).sort()).toEqual(["postgres", "queue", "redis"]);
    for (const check of Object.values(body.checks)) expect(check.status).toBe("ok");
  });
});

describe("authentication and roles", () => {
  it("accepts a valid token of an allowed role", async () => {
    const { status, body } = await call("/test/echo/abc", { token: await token("service") });
    expect(status).toBe(200);
    expect(body).toEqual({ name: "abc", count: 2, role: "service" });
  });

  it("rejects a missing token with 401", async () => {
    const { status, body } = await call("/test/echo/abc");
    expect(status).toBe(401);
    expect(body.error?.message).toBe("missing bearer token");
  });

  it("rejects an expired token with 401", async () => {
    const stale = await token("admin", "ops", new Date(Date.now() - 3600_000));
    const { status, body } = await call("/test/echo/abc", { token: stale });
    expect(status).toBe(401);
    expect(body.error?.message).toBe("token expired");
  });

  it("rejects another algorithm with 401", async () => {
    const hs512 = await new SignJWT({ role: "admin" })
      .setProtectedHeader({ alg: "HS512" })
      .setSubject("ops")
      .setIssuer("botstate")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const { status, body } = await call("/test/echo/abc", { token: hs512 });
    expect(status).toBe(401);
    expect(body.error?.message).toBe("token algorithm not allowed");
  });

  it("rejects an unsigned token with 401", async () => {
    const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const payload = Buffer.from(JSON.stringify({ role: "admin", sub: "ops", iss: "botstate", exp: 9e9 })).toString("base64url");
    const { status } = await call("/test/echo/abc", { token: `${header}.${payload}.` });
    expect(status).toBe(401);
  });

  it("rejects a token signed with another secret with 401", async () => {
    const forged = await issueAccessToken({ ...settings, secret: "another-secret-another-secret-123456" }, { role: "admin", subject: "ops", ttlSeconds: 60 }, new Date());
    const { status, body } = await call("/test/echo/abc", { token: forged });
    expect(status).toBe(401);
    expect(body.error?.message).toBe("token signature invalid");
  });

  it("rejects the wrong role with 403", async () => {
    const { status, body } = await call("/test/echo/abc", { token: await token("user") });
    expect(status).toBe(403);
    expect(body.error?.code).toBe("forbidden");
  });
});

describe("validation and error mapping", () => {
  it("names the invalid body field with 400", async () => {
    const { status, body } = await call("/test/echo/abc", { token: await token("admin"), body: JSON.stringify({ count: 0 }) });
    expect(status).toBe(400);
    expect(body.error?.fields?.map((issue) => issue.field)).toEqual(["body.count"]);
  });

  it("names path and query fields too", async () => {
    const { status, body } = await call("/test/echo/ABC?fail=nope", { token: await token("admin") });
    expect(status).toBe(400);
    expect(body.error?.fields?.map((issue) => issue.field).sort()).toEqual(["path.name", "query.fail"]);
  });

  it("rejects malformed JSON with 400 naming the body", async () => {
    const { status, body } = await call("/test/echo/abc", { token: await token("admin"), body: "{nope" });
    expect(status).toBe(400);
    expect(body.error?.fields).toEqual([{ field: "body", message: "is not valid JSON" }]);
  });

  it("rejects an oversized body with 413", async () => {
    const big = JSON.stringify({ count: 1, pad: "x".repeat(300 * 1024) });
    const { status } = await call("/test/echo/abc", { token: await token("admin"), body: big });
    expect(status).toBe(413);
  });

  it("hides the message of an unexpected error behind the request id", async () => {
    const { status, body } = await call("/test/echo/abc?fail=internal", { token: await token("admin") });
    expect(status).toBe(500);
    expect(body.error?.message).toBe("Internal server error");
    expect(JSON.stringify(body)).not.toContain("hunter2");
    expect(body.error?.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("maps a dependency failure to 503 without its details", async () => {
    const { status, body } = await call("/test/echo/abc?fail=dependency", { token: await token("admin") });
    expect(status).toBe(503);
    expect(JSON.stringify(body)).not.toContain("redis timed out");
  });

  it("answers 404 for an undeclared route", async () => {
    const response = await fetch(`${server.url}/nope`);
    expect(response.status).toBe(404);
  });
});
