import { describe, expect, it } from "vitest";
import { issueAccessToken, verifyToken } from "../../core/auth/tokens";
import type { TokenOptions } from "../../core/auth/tokens";
import { VerifiedTokens } from "../../core/auth/verified-tokens";
import { unauthorizedMessage } from "./support/unauthorized";

const options: TokenOptions = { secret: "verified-tokens-test-secret-0123456789abcdef", issuer: "botstate" };
const issuedAt = new Date("2026-11-30T10:00:00.000Z");
const atSecond = (seconds: number) => new Date(issuedAt.getTime() + seconds * 1000);

/** A VerifiedTokens whose full verifications are counted. */
function counted(verifyOptions = options, maxEntries = 1_000) {
  const calls: string[] = [];
  const tokens = new VerifiedTokens(verifyOptions, maxEntries, (opts, token, now) => {
    calls.push(token);
    return verifyToken(opts, token, now);
  });
  return { tokens, calls };
}

const serviceToken = (subject = "bot", ttlSeconds = 600) => issueAccessToken(options, { role: "service", subject, ttlSeconds }, issuedAt);


describe("VerifiedTokens", () => {
  it("verifies a token once and answers its principal from memory until it expires", async () => {
    const { tokens, calls } = counted();
    const token = await serviceToken();
    expect(await tokens.verify(token, atSecond(1))).toEqual({ role: "service", subject: "bot" });
    expect(await tokens.verify(token, atSecond(2))).toEqual({ role: "service", subject: "bot" });
    expect(await tokens.verify(token, atSecond(599))).toEqual({ role: "service", subject: "bot" });
    expect(calls).toHaveLength(1);
  });

  it("rejects a remembered token from its exp second on, with the full verification's reason", async () => {
    const { tokens, calls } = counted();
    const token = await serviceToken("bot", 60);
    await tokens.verify(token, atSecond(0));
    expect(await unauthorizedMessage(tokens.verify(token, atSecond(60)))).toBe("token expired");
    expect(await unauthorizedMessage(tokens.verify(token, atSecond(61)))).toBe("token expired");
    expect(calls).toHaveLength(3);
    expect(tokens.size).toBe(0);
  });

  it("keeps no failure: a token signed with another secret is verified (and refused) every time", async () => {
    const { tokens, calls } = counted();
    const forged = await issueAccessToken({ ...options, secret: "another-secret-another-secret-0123456789" }, { role: "admin", subject: "x", ttlSeconds: 600 }, issuedAt);
    expect(await unauthorizedMessage(tokens.verify(forged, atSecond(1)))).toBe("token signature invalid");
    expect(await unauthorizedMessage(tokens.verify(forged, atSecond(2)))).toBe("token signature invalid");
    expect(calls).toHaveLength(2);
  });

  it("is per verifier: after the secret is rotated, a token remembered under the old one is refused", async () => {
    const token = await serviceToken();
    const before = counted();
    await before.tokens.verify(token, atSecond(1));
    const rotated = counted({ ...options, secret: "rotated-secret-rotated-secret-0123456789ab" });
    expect(await unauthorizedMessage(rotated.tokens.verify(token, atSecond(2)))).toBe("token signature invalid");
  });

  it("keeps at most maxEntries tokens, forgetting the oldest", async () => {
    const { tokens, calls } = counted(options, 2);
    const [first, second, third] = await Promise.all([serviceToken("a"), serviceToken("b"), serviceToken("c")]);
    for (const token of [first, second, third]) await tokens.verify(token, atSecond(1));
    expect(tokens.size).toBe(2);
    await tokens.verify(third, atSecond(2));
    await tokens.verify(first, atSecond(2));
    expect(calls).toEqual([first, second, third, first]);
  });

  it("hands out a frozen principal (one object shared by every request with that token)", async () => {
    const { tokens } = counted();
    const principal = await tokens.verify(await serviceToken(), atSecond(1));
    expect(Object.isFrozen(principal)).toBe(true);
  });
});
