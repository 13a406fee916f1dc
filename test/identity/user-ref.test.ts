import { describe, expect, it } from "vitest";
import type { Principal } from "../../core/auth/tokens";
import { ForbiddenError, NotFoundError, ValidationError } from "../../core/errors";
import { parseUserRef, resolveUserRef } from "../../core/identity/user-ref";
import type { UserDirectory } from "../../core/identity/user-ref";

const alice = "0b7f3a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
const bob = "1c8e4b0f-2d3e-4f60-9bac-1d2e3f4a5b6c";
const aliceOkxUid = "546372819201928374";

const directory: UserDirectory = {
  activeUserId: async (id) => ([alice, bob].includes(id) ? id : null),
  userIdByOkxUid: async (okxUid) => (okxUid === aliceOkxUid ? alice : null),
};
const asAlice: Principal = { role: "user", subject: alice, userId: alice };
const asService: Principal = { role: "service", subject: "bot" };

describe("parseUserRef", () => {
  it("reads me, user ids (any case) and OKX UIDs", () => {
    expect(parseUserRef("me")).toEqual({ kind: "me" });
    expect(parseUserRef(alice.toUpperCase())).toEqual({ kind: "user_id", value: alice });
    expect(parseUserRef(aliceOkxUid)).toEqual({ kind: "okx_uid", value: aliceOkxUid });
  });

  it.each(["", "you", "12345", "0546372819201928374", "../etc", "5463728192019283741234"])("rejects %j naming path.ref", (raw) => {
    const error = (() => {
      try {
        parseUserRef(raw);
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.field).toBe("path.ref");
  });
});

describe("resolveUserRef", () => {
  const resolve = (principal: Principal, raw: string) => resolveUserRef({ directory }, principal, parseUserRef(raw));

  it("lets a user token reach itself by me, id or OKX UID", async () => {
    await expect(resolve(asAlice, "me")).resolves.toBe(alice);
    await expect(resolve(asAlice, alice)).resolves.toBe(alice);
    await expect(resolve(asAlice, aliceOkxUid)).resolves.toBe(alice);
  });

  it("refuses a user token another user's id, existing or not, with 403", async () => {
    await expect(resolve(asAlice, bob)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(resolve(asAlice, "2d9f5c10-3e4f-4071-8cbd-2e3f4a5b6c7d")).rejects.toBeInstanceOf(ForbiddenError);
    await expect(resolve({ role: "user", subject: bob, userId: bob }, aliceOkxUid)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it("lets service and admin tokens reach any active user, 404 for unknown ones", async () => {
    await expect(resolve(asService, bob)).resolves.toBe(bob);
    await expect(resolve({ role: "admin", subject: "ops" }, aliceOkxUid)).resolves.toBe(alice);
    await expect(resolve(asService, "2d9f5c10-3e4f-4071-8cbd-2e3f4a5b6c7d")).rejects.toBeInstanceOf(NotFoundError);
    await expect(resolve(asService, "999999999999999")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("answers 400 to me with a service token (it has no user)", async () => {
    await expect(resolve(asService, "me")).rejects.toBeInstanceOf(ValidationError);
  });

  it("answers 404 to a deactivated user's own token", async () => {
    const gone: Principal = { role: "user", subject: "x", userId: "2d9f5c10-3e4f-4071-8cbd-2e3f4a5b6c7d" };
    await expect(resolve(gone, "me")).rejects.toBeInstanceOf(NotFoundError);
  });
});
