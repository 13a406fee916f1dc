import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultMaxTokenAgeSeconds, issueAccessToken } from "../../core/auth/tokens";
import type { Principal, Role, TokenOptions } from "../../core/auth/tokens";
import { VerifiedTokens } from "../../core/auth/verified-tokens";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { TEST_JWT_SECRET, useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { unauthorizedMessage } from "./support/unauthorized";

const options = { secret: TEST_JWT_SECRET, issuer: "botstate" };
const key = new TextEncoder().encode(TEST_JWT_SECRET);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token as an attacker or a sloppy issuer would sign it: any claims, with the right key. */
function signed(claims: { role: Role; sub?: string; iat?: number; exp: number }): Promise<string> {
  const jwt = new SignJWT({ role: claims.role }).setProtectedHeader({ alg: "HS256" }).setIssuer("botstate").setSubject(claims.sub ?? "ops").setExpirationTime(claims.exp);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  return jwt.sign(key);
}

/** As the routes verify a bearer token (runtime/http/middlewares.ts), with nothing remembered from another test. */
const verify = (verifyOptions: TokenOptions, token: string): Promise<Principal> => new VerifiedTokens(verifyOptions).verify(token, new Date());

const rejection = (token: string, verifyOptions = options): Promise<string> => unauthorizedMessage(verify(verifyOptions, token));

describe("token lifetimes", () => {
  it("rejects a token that expires in the year 2999", async () => {
    const message = await rejection(await signed({ role: "service", iat: nowSeconds(), exp: Date.UTC(2999, 0, 1) / 1000 }));
    expect(message).toMatch(/lifetime exceeds/);
  });

  it("requires iat", async () => {
    expect(await rejection(await signed({ role: "admin", exp: nowSeconds() + 60 }))).toMatch(/iat/);
  });

  it("rejects an iat in the future (beyond a minute of clock skew)", async () => {
    expect(await rejection(await signed({ role: "admin", iat: nowSeconds() + 600, exp: nowSeconds() + 900 }))).toMatch(/iat is in the future/);
  });

  it("caps the lifetime per role: 13 hours is too long for an admin, fine for a service", async () => {
    const claims = { iat: nowSeconds(), exp: nowSeconds() + 13 * 3600 };
    expect(await rejection(await signed({ role: "admin", ...claims }))).toMatch(/allowed for role 'admin'/);
    expect(await verify(options, await signed({ role: "service", ...claims }))).toEqual({ role: "service", subject: "ops" });
    const atTheCap = await signed({ role: "admin", iat: nowSeconds(), exp: nowSeconds() + defaultMaxTokenAgeSeconds.admin });
    expect((await verify(options, atTheCap)).role).toBe("admin");
  });

  it("takes the caps from the options (JWT_MAX_AGE_<ROLE>_SECONDS)", async () => {
    const token = await issueAccessToken(options, { role: "service", subject: "bot", ttlSeconds: 600 }, new Date());
    const strict = { ...options, maxAgeSeconds: { ...defaultMaxTokenAgeSeconds, service: 300 } };
    expect(await rejection(token, strict)).toMatch(/300 s allowed for role 'service'/);
  });
});

describe("through the API", () => {
  let app: AppEnv;
  let server: DevServer;

  beforeAll(async () => {
    app = await useAppEnv({ JWT_MAX_AGE_SERVICE_SECONDS: "3600" });
    server = await startDevServer({ routes: (await loadSstManifest()).routes });
  });

  afterAll(async () => {
    await server?.close();
    await app?.database.drop();
  });

  const batch = (init: { token?: string; body: string; contentType?: string }) =>
    fetch(`${server.url}/v1/lookups/batch`, {
      method: "POST",
      headers: { "content-type": init.contentType ?? "application/json", ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
      body: init.body,
    });

  it("refuses tokens without iat, with an endless lifetime, or beyond the configured cap, with 401", async () => {
    const body = JSON.stringify({ identifiers: ["7012345678"] });
    const endless = await signed({ role: "service", iat: nowSeconds(), exp: Date.UTC(2999, 0, 1) / 1000 });
    const noIat = await signed({ role: "service", exp: nowSeconds() + 60 });
    const twoHours = await signed({ role: "service", iat: nowSeconds(), exp: nowSeconds() + 7200 });
    for (const token of [endless, noIat, twoHours]) expect((await batch({ token, body })).status).toBe(401);
    const hour = await signed({ role: "service", iat: nowSeconds(), exp: nowSeconds() + 3600 });
    expect((await batch({ token: hour, body })).status).toBe(200);
  });

  it("parses a body only after authentication: anonymous junk is 401, never 400, 413 or 415", async () => {
    const malformed = { body: "{not json" };
    const oversized = { body: JSON.stringify({ identifiers: ["x".repeat(300_000)] }) };
    const xml = { body: "<xml/>", contentType: "application/xml" };
    for (const request of [malformed, oversized, xml]) {
      const response = await batch(request);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
    const token = await issueAccessToken(options, { role: "service", subject: "bot", ttlSeconds: 600 }, new Date());
    expect((await batch({ token, ...malformed })).status).toBe(400);
    expect((await batch({ token, ...oversized })).status).toBe(413);
    expect((await batch({ token, ...xml })).status).toBe(415);
  });
});
