import type { Principal } from "../auth/tokens";
import { ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { okxUidProblem } from "../lookups/identifier";
import { isUuid } from "./uuid";

/**
 * How a route names the user it is about (`/v1/users/{ref}/…`): `me` (the caller itself, user
 * tokens only), an app user id, or the OKX UID that bots know their users by.
 */
export type UserRef =
  | { readonly kind: "me" }
  | { readonly kind: "user_id"; readonly value: string }
  | { readonly kind: "okx_uid"; readonly value: string };

/** Finds active app users by the identifiers a `{ref}` may carry. */
export interface UserDirectory {
  /** The id if that active user exists. */
  activeUserId(userId: string): Promise<string | null>;
  /** The active user holding this OKX UID (on the user or on its identifier mapping). */
  userIdByOkxUid(okxUid: string): Promise<string | null>;
}

export interface UserRefDeps {
  readonly directory: UserDirectory;
}

export function parseUserRef(raw: string, field = "path.ref"): UserRef {
  const value = raw.trim();
  if (value === "me") return { kind: "me" };
  if (isUuid(value)) return { kind: "user_id", value: value.toLowerCase() };
  const problem = okxUidProblem(value);
  if (problem === null) return { kind: "okx_uid", value };
  throw ValidationError.field(field, `must be "me", an app user id (UUID) or an OKX UID (${problem})`);
}

/**
 * The app user id that `ref` names, if `principal` may act on it: a user token reaches only its own
 * user (another user's is 403, whether or not it exists, so ids cannot be probed); service and
 * admin tokens reach any active user. Unknown or deactivated users are 404.
 */
export async function resolveUserRef(deps: UserRefDeps, principal: Principal, ref: UserRef): Promise<string> {
  if (ref.kind === "me") {
    if (principal.role !== "user") throw ValidationError.field("path.ref", `"me" needs a user token; a ${principal.role} token names the user by id or OKX UID`);
    return requireFound(await deps.directory.activeUserId(principal.userId), ref);
  }
  if (principal.role === "user" && ref.kind === "user_id" && ref.value !== principal.userId) {
    throw new ForbiddenError("a user token reaches only its own user");
  }
  const userId = ref.kind === "user_id" ? await deps.directory.activeUserId(ref.value) : await deps.directory.userIdByOkxUid(ref.value);
  if (principal.role === "user" && userId !== principal.userId) throw new ForbiddenError("a user token reaches only its own user");
  return requireFound(userId, ref);
}

function requireFound(userId: string | null, ref: UserRef): string {
  if (userId === null) throw new NotFoundError(ref.kind === "me" ? "your user does not exist or is deactivated" : `no active user with ${ref.kind} ${ref.value}`);
  return userId;
}
