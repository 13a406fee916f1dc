import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../../core/clock";
import { UnavailableError } from "../../core/errors";
import { HttpOkxAccounts, okxAuthHeaders, signOkxRequest } from "../../core/exchange/adapters/http-okx-accounts";
import { maskApiKey } from "../../core/exchange/model";
import { CredentialsRejectedError } from "../../core/exchange/ports";
import { okxCredentialsSchema } from "../../core/exchange/schemas";
import { startFakeOkx } from "../../local/fake-okx";
import type { FakeOkx, FakeOkxAccount } from "../../local/fake-okx";

let okx: FakeOkx;
let account: FakeOkxAccount;
const clock: Clock = { now: () => new Date() };
const accountsAt = (skewMs = 0, timeoutMs = 2_000) => new HttpOkxAccounts({ baseUrl: okx.url, timeoutMs }, { now: () => new Date(Date.now() + skewMs) });
const credentialsOf = (a: FakeOkxAccount) => ({ apiKey: a.apiKey, secretKey: a.secretKey, passphrase: a.passphrase });

beforeAll(async () => {
  okx = await startFakeOkx();
  account = okx.addAccount({ perm: "read_only,trade" });
});
afterAll(() => okx?.close());

async function rejection(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("OKX request signing", () => {
  // Vectors computed independently (Python hmac/base64) from OKX's documented example secret.
  it("is Base64(HMAC-SHA256(secret, timestamp + METHOD + path + body))", () => {
    const secretKey = "22582BD0CFF14C41EDBF1AB98506286D";
    const timestamp = "2020-12-08T09:08:57.715Z";
    expect(signOkxRequest({ secretKey, timestamp, method: "GET", requestPath: "/api/v5/account/balance?ccy=BTC", body: "" })).toBe("HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY=");
    expect(signOkxRequest({ secretKey, timestamp, method: "post", requestPath: "/api/v5/trade/order", body: '{"instId":"BTC-USDT","lever":"5","mgnMode":"isolated"}' })).toBe(
      "B1CIgFITj5o4lMDG+Uz5juzEGMCIDXO9bxM4MBgQ62g=",
    );
  });

  it("sends the four OK-ACCESS headers", () => {
    const headers = okxAuthHeaders({ apiKey: "k", secretKey: "s", passphrase: "p" }, { timestamp: "t", method: "GET", requestPath: "/x", body: "" });
    expect(Object.keys(headers).sort()).toEqual(["OK-ACCESS-KEY", "OK-ACCESS-PASSPHRASE", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP"]);
    expect(headers["OK-ACCESS-PASSPHRASE"]).toBe("p");
  });
});

describe("verify against the fake OKX (which checks the signature)", () => {
  it("answers the account's uid and permissions for valid keys", async () => {
    const result = await new HttpOkxAccounts({ baseUrl: okx.url, timeoutMs: 2_000 }, clock).verify(credentialsOf(account), { deadlineMs: 2_000 });
    expect(result).toEqual({ uid: account.uid, mainUid: account.uid, permissions: ["read_only", "trade"], label: "botstate" });
    expect(result.uid).toMatch(/^[0-9]{18}$/);
  });

  it.each([
    ["an unknown key", { apiKey: "00000000-0000-0000-0000-000000000000" }, "unknown_key"],
    ["a wrong secret", { secretKey: "0".repeat(32) }, "wrong_secret"],
    ["a wrong passphrase", { passphrase: "not-it" }, "wrong_passphrase"],
  ] as const)("rejects %s with a credential problem the user can act on", async (_name, change, problem) => {
    const error = await rejection(accountsAt().verify({ ...credentialsOf(account), ...change }, { deadlineMs: 2_000 }));
    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect((error as CredentialsRejectedError).problem).toBe(problem);
    expect((error as Error).message).not.toContain(account.secretKey);
  });

  it("rejects a request signed with a clock more than 30 s off as clock skew", async () => {
    const error = await rejection(accountsAt(60_000).verify(credentialsOf(account), { deadlineMs: 2_000 }));
    expect((error as CredentialsRejectedError).problem).toBe("clock_skew");
  });

  it("turns an exchange outage, a rate limit or a garbled answer into UnavailableError", async () => {
    okx.fail({ status: 503 });
    expect(await rejection(accountsAt().verify(credentialsOf(account), { deadlineMs: 2_000 }))).toBeInstanceOf(UnavailableError);
    okx.fail({ status: 429, code: "50011", msg: "Too Many Requests" });
    const limited = await rejection(accountsAt().verify(credentialsOf(account), { deadlineMs: 2_000 }));
    expect(limited).toBeInstanceOf(UnavailableError);
    expect((limited as UnavailableError).retryAfterSeconds).toBe(2);
  });

  it("gives up at the caller's deadline when the exchange is slow", async () => {
    okx.fail({ delayMs: 1_000 });
    const started = performance.now();
    const error = await rejection(accountsAt(0, 5_000).verify(credentialsOf(account), { deadlineMs: 150 }));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(performance.now() - started).toBeLessThan(900);
  });
});

describe("credential shapes", () => {
  it("accepts OKX-shaped keys and names the field of a slip", () => {
    expect(okxCredentialsSchema().safeParse(credentialsOf(account)).success).toBe(true);
    const swapped = okxCredentialsSchema().safeParse({ apiKey: account.apiKey, secretKey: account.apiKey, passphrase: "p" });
    expect(swapped.success).toBe(false);
    expect(swapped.error?.issues.map((issue) => issue.path.join("."))).toEqual(["secretKey"]);
  });

  it("shows only the last four characters of a key", () => {
    expect(maskApiKey("abcd-1234-WXYZ")).toBe("…WXYZ");
  });
});
