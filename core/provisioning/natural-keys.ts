import { ConflictError } from "../errors";
import type { Identifier } from "../lookups/identifier";
import type { AppUser, NaturalKeys } from "./model";

type KeyName = keyof NaturalKeys;
const KEY_NAMES: readonly KeyName[] = ["email", "telegramId", "okxUid"];

/** Which of the request's identifiers this user holds (an absent okxUid in the request asks nothing). */
function shared(request: NaturalKeys, user: AppUser): KeyName[] {
  return KEY_NAMES.filter((name) => request[name] !== null && request[name] === user[name]);
}

function differing(request: NaturalKeys, user: AppUser): KeyName[] {
  return KEY_NAMES.filter((name) => request[name] !== null && request[name] !== user[name]);
}

/**
 * The one active user a creation request names, when the request repeats that user exactly (a
 * retry under a new key): it answers that user instead of creating a second one. Identifiers of
 * several users, or of one user with others that differ, are a conflict the caller must resolve.
 */
export function existingUserFor(request: NaturalKeys, matches: readonly AppUser[]): AppUser {
  if (matches.length === 0) {
    throw new ConflictError("email, telegramId or okxUid is taken by a deactivated user");
  }
  if (matches.length > 1) {
    const owners = matches.map((user) => shared(request, user).join(" and ")).join("; ");
    throw new ConflictError(`the identifiers belong to different users (${owners})`);
  }
  const [user] = matches as [AppUser];
  const different = differing(request, user);
  if (different.length > 0) {
    throw new ConflictError(`an active user has the same ${shared(request, user).join(" and ")} but a different ${different.join(" and ")}`);
  }
  return user;
}

/** Every lookup-cache entry a new user's mapping answers for. */
export function lookupIdentifiersOf(user: AppUser): Identifier[] {
  return [
    { kind: "user_id", value: user.id },
    { kind: "telegram_id", value: user.telegramId },
    ...(user.okxUid ? [{ kind: "okx_uid" as const, value: user.okxUid }] : []),
  ];
}
