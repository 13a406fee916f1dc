import { ConflictError } from "../errors";
import type { RegistrationCandidate, RegistrationPlan } from "./model";

/**
 * The natural-key rule of registration (as provisioning's, with one addition): the telegram id and
 * okx uid name one person. A request repeating an active user exactly answers that user; a user
 * that has the telegram id and no okx uid gets it; identifiers held by two users, or by one user
 * together with a different partner identifier, are a conflict the caller must resolve.
 */
export function planRegistration(request: { readonly telegramId: string; readonly okxUid: string }, candidates: readonly RegistrationCandidate[]): RegistrationPlan {
  if (candidates.length === 0) return { kind: "create" };
  if (candidates.length > 1) throw new ConflictError("telegramId and okxUid belong to different users");
  const [user] = candidates as [RegistrationCandidate];
  if (user.telegramId === request.telegramId) {
    if (user.okxUid === request.okxUid) return { kind: "existing", user };
    if (user.okxUid === null) return { kind: "attach", user };
    throw new ConflictError("telegramId is registered with another okxUid");
  }
  throw new ConflictError("okxUid is registered to another telegramId");
}
