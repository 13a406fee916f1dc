import type { Clock, IdGenerator } from "../clock";
import type { CredentialsCipher } from "../credentials/cipher";
import { UnavailableError } from "../errors";
import type { Identifier } from "../lookups/identifier";
import { deliverInvalidation, lookupInvalidationMessage } from "../lookups/invalidation";
import type { InvalidationDeliveryDeps } from "../lookups/invalidation";
import type { OutboxMessage } from "../outbox/model";
import type { LogPort } from "../observability/log-port";
import type { RegisteredUser, RegistrationPlan, RegistrationRequest } from "./model";
import { planRegistration } from "./plan";
import type { RegistrationStore } from "./ports";

export interface RegisterUserDeps {
  readonly store: RegistrationStore;
  readonly cipher: CredentialsCipher;
  /** Delivers the invalidation outbox row after the commit; a failed delivery stays owed (drain, reads distrust the entries). */
  readonly invalidations: InvalidationDeliveryDeps;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly log: LogPort;
}

/** Reads and writes before giving up on a registration that keeps racing others (each race is a commit by someone else). */
const MAX_ATTEMPTS = 4;

/**
 * Registration (the bot's /setapi, POST /v1/registrations): in ONE transaction the app user and
 * its identifier mapping (created, or found, or given the okx uid), the exchange credentials
 * sealed for that user, and default settings of every type it lacks. Replaying a request answers
 * the same user (created false); identifiers of another user are a ConflictError. Two identical
 * registrations at once make one user: the loser's insert hits the unique indexes of active
 * users, and its next read finds the winner.
 */
export async function registerUser(deps: RegisterUserDeps, request: RegistrationRequest): Promise<RegisteredUser> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const plan = planRegistration(request, await deps.store.candidates(request.telegramId, request.okxUid));
    const userId = plan.kind === "create" ? deps.ids.uuid() : plan.user.id;
    const now = deps.clock.now();
    const credentials = deps.cipher.sealCredentials(userId, request.exchange, request.credentials, now);
    // A new or changed mapping makes cached lookups wrong (negative ones, or a telegram id without its okx uid).
    const invalidation = plan.kind === "existing" ? null : lookupInvalidationMessage(deps.ids.uuid(), userId, identifiersOf(userId, request));
    const result = await deps.store.write({ plan, userId, telegramId: request.telegramId, okxUid: request.okxUid, credentials, now, invalidation });
    if (result.kind === "written") return finish(deps, request, plan, { userId, apiKeyLast4: credentials.apiKeyLast4, invalidation });
    deps.log.info("registration raced another writer; deciding again", { attempt, outcome: result.kind });
  }
  throw new UnavailableError("registration: the user's identifiers kept changing; try again", { outcome: "not_applied" });
}

interface Written {
  readonly userId: string;
  readonly apiKeyLast4: string;
  readonly invalidation: OutboxMessage | null;
}

async function finish(deps: RegisterUserDeps, request: RegistrationRequest, plan: RegistrationPlan, { userId, apiKeyLast4, invalidation }: Written): Promise<RegisteredUser> {
  // Never fails: the registration is committed; an undelivered invalidation stays in the outbox.
  await deliverInvalidation(deps.invalidations, invalidation);
  deps.log.info("user registered", { userId, plan: plan.kind, exchange: request.exchange, actor: request.actor, keyEnding: apiKeyLast4 });
  return { userId, telegramId: request.telegramId, okxUid: request.okxUid, exchange: request.exchange, apiKeyLast4, created: plan.kind === "create" };
}

function identifiersOf(userId: string, request: RegistrationRequest): Identifier[] {
  return [
    { kind: "user_id", value: userId },
    { kind: "telegram_id", value: request.telegramId },
    { kind: "okx_uid", value: request.okxUid },
  ];
}
