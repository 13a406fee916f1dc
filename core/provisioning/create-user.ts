import type { Clock, IdGenerator } from "../clock";
import type { AppUser, NewUserRequest } from "./model";
import { existingUserFor, lookupIdentifiersOf } from "./natural-keys";
import { deliverInvalidation, lookupInvalidationMessage } from "../lookups/invalidation";
import type { InvalidationDeliveryDeps } from "../lookups/invalidation";
import type { KeyAnswer, KeyWrite, ProvisioningSettlement, ProvisioningStore } from "./ports";
import { presentUser } from "./presenters";

export interface CreateUserDeps {
  readonly store: ProvisioningStore;
  /** Delivers the lookup invalidation after the commit; when Redis cannot take it, it stays owed (drain). */
  readonly invalidations: InvalidationDeliveryDeps;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface CreateUserInput {
  readonly request: NewUserRequest;
  /** The Idempotency-Key whose answer is written with the user (HTTP paths). */
  readonly key?: { readonly write: KeyWrite; readonly resourceId: string | null } | undefined;
  /** The provisioning record settled done with the user (queued path and its fallback). */
  readonly provisioning?: ProvisioningSettlement | undefined;
}

export type CreateUserResult =
  | { readonly kind: "created"; readonly user: AppUser }
  /** The request repeats an active user exactly: that user, no second one. */
  | { readonly kind: "existing"; readonly user: AppUser }
  /** A twin request recorded this Idempotency-Key first; nothing was written. */
  | { readonly kind: "key_taken" };

function keyAnswer(input: CreateUserInput, outcome: "created" | "existing", user: AppUser, now: Date): KeyAnswer | undefined {
  return input.key && { write: input.key.write, outcome, body: presentUser(user), resourceId: input.key.resourceId, now };
}

/**
 * The one way a user comes to exist, for every path (sync request, queue consumer, fallback): in
 * one transaction the app user, its identifier mapping, its default settings, and whatever records
 * the answer (the Idempotency-Key, the provisioning record). Unique indexes among active users
 * decide races: the loser finds the winner and answers it when the request names it exactly, and
 * a ConflictError when its identifiers belong to someone else.
 */
export async function createUser(deps: CreateUserDeps, input: CreateUserInput): Promise<CreateUserResult> {
  const now = deps.clock.now();
  const user: AppUser = { ...input.request, id: deps.ids.uuid(), isActive: true, createdAt: now };
  const invalidation = lookupInvalidationMessage(deps.ids.uuid(), user.id, lookupIdentifiersOf(user));
  const result = await deps.store.create({ user, key: keyAnswer(input, "created", user, now), provisioning: input.provisioning, invalidation });
  if (result.kind === "key_taken") return result;
  if (result.kind === "identifiers_taken") return answerExisting(deps, input, now);
  // Never fails the creation: it committed; an invalidation Redis could not take stays in the outbox.
  await deliverInvalidation(deps.invalidations, invalidation);
  return { kind: "created", user };
}

async function answerExisting(deps: CreateUserDeps, input: CreateUserInput, now: Date): Promise<CreateUserResult> {
  const user = existingUserFor(input.request, await deps.store.findActiveByNaturalKeys(input.request));
  const recorded = await deps.store.recordExisting(user.id, keyAnswer(input, "existing", user, now), input.provisioning);
  return recorded === "key_taken" ? { kind: "key_taken" } : { kind: "existing", user };
}
