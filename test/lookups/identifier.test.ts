import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../core/errors";
import {
  classifyIdentifier,
  MAX_OKX_UID_DIGITS,
  MAX_TELEGRAM_ID_DIGITS,
  MIN_OKX_UID_DIGITS,
  parseIdentifier,
  telegramIdMisreadProblem,
} from "../../core/lookups/identifier";

function rejection(raw: string, field?: string): ValidationError {
  try {
    classifyIdentifier(raw, field);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(raw)} was accepted`);
}

const digits = (length: number) => `7${"0123456789".repeat(3).slice(0, length - 1)}`;

describe("classifyIdentifier", () => {
  it("classifies a UUID as a user id, lower-cased", () => {
    const id = randomUUID();
    expect(classifyIdentifier(id.toUpperCase())).toEqual({ kind: "user_id", value: id });
    expect(classifyIdentifier(id)).toEqual({ kind: "user_id", value: id });
  });

  it("classifies 1-11 digits as a Telegram id, beyond 2^31 included", () => {
    expect(classifyIdentifier("7")).toEqual({ kind: "telegram_id", value: "7" });
    expect(classifyIdentifier("7012345678")).toEqual({ kind: "telegram_id", value: "7012345678" });
    expect(Number("7012345678")).toBeGreaterThan(2 ** 31);
    const longest = digits(MAX_TELEGRAM_ID_DIGITS);
    expect(longest).toHaveLength(11);
    expect(classifyIdentifier(longest)).toEqual({ kind: "telegram_id", value: longest });
  });

  it("classifies 12-20 digits as an OKX UID", () => {
    expect(classifyIdentifier("518796558012178692")).toEqual({ kind: "okx_uid", value: "518796558012178692" });
    const shortest = digits(MIN_OKX_UID_DIGITS);
    const longest = digits(MAX_OKX_UID_DIGITS);
    expect([shortest.length, longest.length]).toEqual([12, 20]);
    expect(classifyIdentifier(shortest).kind).toBe("okx_uid");
    expect(classifyIdentifier(longest).kind).toBe("okx_uid");
  });

  it("trims surrounding whitespace", () => {
    expect(classifyIdentifier(" 7012345678 ")).toEqual({ kind: "telegram_id", value: "7012345678" });
  });

  it.each([
    ["a leading zero", "07012345678"],
    ["a leading zero on an OKX UID", "0518796558012178692"],
    ["letters", "70123abc"],
    ["a plus sign", "+7012345678"],
    ["a negative number with a leading zero", "-07012345678"],
    ["a negative number beyond 52 bits", `-${2 ** 52 + 1}`],
    ["a decimal point", "7012345678.0"],
    ["empty", ""],
    ["blank", "   "],
    ["21 digits", digits(21)],
    ["a UUID with a stray character", `${randomUUID()}x`],
  ])("rejects %s with a ValidationError naming the field", (_label, raw) => {
    const error = rejection(raw);
    expect(error.code).toBe("invalid");
    expect(error.issues.map((issue) => issue.field)).toEqual(["identifier"]);
  });

  it("names the field it is given", () => {
    expect(rejection("abc", "body.identifiers.3").issues).toEqual([{ field: "body.identifiers.3", message: expect.any(String) }]);
    expect(rejection(digits(21), "path.identifier").issues[0]?.message).toContain("21 digits");
  });
});

describe("negative chat ids (groups and channels)", () => {
  it("are Telegram ids under the digit rule, whatever their length", () => {
    expect(classifyIdentifier("-1001234567890")).toEqual({ kind: "telegram_id", value: "-1001234567890" });
    expect(classifyIdentifier("-42")).toEqual({ kind: "telegram_id", value: "-42" });
    expect(classifyIdentifier(`-${2 ** 52}`)).toEqual({ kind: "telegram_id", value: `-${2 ** 52}` });
  });
});

describe("a kind named by the caller", () => {
  it("reads the value as that kind, where the digit rule would read another", () => {
    expect(parseIdentifier("7012345678901", "telegram_id")).toEqual({ kind: "telegram_id", value: "7012345678901" });
    expect(classifyIdentifier("7012345678901").kind).toBe("okx_uid");
    expect(parseIdentifier(String(2 ** 52), "telegram_id").kind).toBe("telegram_id");
    expect(parseIdentifier("518796558012178692", "okx_uid").kind).toBe("okx_uid");
    const id = randomUUID();
    expect(parseIdentifier(id.toUpperCase(), "user_id")).toEqual({ kind: "user_id", value: id });
  });

  it.each([
    ["telegram_id", String(2 ** 52 + 1), /52 bits/],
    ["telegram_id", "0", /must not be 0/],
    ["okx_uid", "0518796558012178692", /must not start with 0/],
    ["okx_uid", "70123456789", /12-20 digits \(this one has 11\)/],
    ["okx_uid", "-518796558012178692", /digits only/],
    ["user_id", "7012345678", /UUID/],
  ] as const)("rejects a %s of %s with a message that says why", (kind, raw, message) => {
    let caught: unknown;
    try {
      parseIdentifier(raw, kind, "path.identifier");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).issues).toEqual([{ field: "path.identifier", message: expect.stringMatching(message) }]);
  });
});

describe("telegramIdMisreadProblem (checked on every write)", () => {
  it("refuses positive ids the digit rule would read as OKX UIDs, and nothing else", () => {
    expect(telegramIdMisreadProblem(digits(MAX_TELEGRAM_ID_DIGITS))).toBeNull();
    expect(telegramIdMisreadProblem(digits(MAX_TELEGRAM_ID_DIGITS + 1))).toMatch(/would be read as an OKX UID/);
    expect(telegramIdMisreadProblem("-1001234567890")).toBeNull();
  });
});
