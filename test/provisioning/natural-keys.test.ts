import { describe, expect, it } from "vitest";
import { ConflictError } from "../../core/errors";
import { requestHash } from "../../core/provisioning/idempotency";
import type { AppUser } from "../../core/provisioning/model";
import { existingUserFor } from "../../core/provisioning/natural-keys";
import { createUserBodySchema } from "../../core/provisioning/schemas";

const user = (overrides: Partial<AppUser> = {}): AppUser => ({
  id: "u1",
  email: "a@example.com",
  telegramId: "7000000001",
  okxUid: "518796558012178692",
  plan: "pro",
  displayName: null,
  isActive: true,
  createdAt: new Date(0),
  ...overrides,
});

describe("existingUserFor", () => {
  const request = { email: "a@example.com", telegramId: "7000000001", okxUid: "518796558012178692" };

  it("answers the one user the request repeats exactly, an absent okxUid included", () => {
    expect(existingUserFor(request, [user()]).id).toBe("u1");
    expect(existingUserFor({ ...request, okxUid: null }, [user()]).id).toBe("u1");
  });

  it("refuses identifiers spread over users, or one user with a differing identifier, naming them", () => {
    expect(() => existingUserFor(request, [user(), user({ id: "u2", email: "b@example.com", telegramId: "7000000001" })])).toThrow(/different users/);
    expect(() => existingUserFor({ ...request, telegramId: "7000000002" }, [user()])).toThrow(/same email and okxUid but a different telegramId/);
    expect(() => existingUserFor(request, [user({ okxUid: null })])).toThrow(ConflictError);
    expect(() => existingUserFor(request, [])).toThrow(/deactivated/);
  });
});

describe("requestHash", () => {
  it("is the same for the same request however it was spelt, and differs for another", () => {
    const a = createUserBodySchema().parse({ email: "A@Example.com", telegramId: 7000000001, plan: "pro" });
    const b = createUserBodySchema().parse({ plan: "pro", telegramId: "7000000001", email: " a@example.com " });
    expect(requestHash(a)).toBe(requestHash(b));
    expect(requestHash(a)).not.toBe(requestHash({ ...a, plan: "basic" }));
  });
});
