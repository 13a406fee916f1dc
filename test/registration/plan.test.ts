import { describe, expect, it } from "vitest";
import { ConflictError } from "../../core/errors";
import type { RegistrationCandidate } from "../../core/registration/model";
import { planRegistration } from "../../core/registration/plan";

const user = (telegramId: string, okxUid: string | null, id = "u1"): RegistrationCandidate => ({ id, telegramId, okxUid, createdAt: new Date(0) });
const request = { telegramId: "7012345678", okxUid: "518796558012178692" };

describe("planRegistration", () => {
  it("creates when nobody holds either identifier", () => {
    expect(planRegistration(request, [])).toEqual({ kind: "create" });
  });

  it("answers the user that holds exactly both", () => {
    const same = user(request.telegramId, request.okxUid);
    expect(planRegistration(request, [same])).toEqual({ kind: "existing", user: same });
  });

  it("attaches the okx uid to the user with the telegram id and no okx uid", () => {
    const bare = user(request.telegramId, null);
    expect(planRegistration(request, [bare])).toEqual({ kind: "attach", user: bare });
  });

  it("refuses identifiers of two users, or one user paired with a different identifier", () => {
    expect(() => planRegistration(request, [user(request.telegramId, null, "a"), user("1", request.okxUid, "b")])).toThrow(ConflictError);
    expect(() => planRegistration(request, [user(request.telegramId, "999999999999")])).toThrow(/telegramId is registered with another okxUid/);
    expect(() => planRegistration(request, [user("42", request.okxUid)])).toThrow(/okxUid is registered to another telegramId/);
  });
});
