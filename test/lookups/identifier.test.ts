import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../core/errors";
import { classifyIdentifier, MAX_OKX_UID_DIGITS, MAX_TELEGRAM_ID_DIGITS, MIN_OKX_UID_DIGITS } from "../../core/lookups/identifier";

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
    ["a sign", "-7012345678"],
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
