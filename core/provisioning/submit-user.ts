import { ConflictError, UnavailableError, UnprocessableError } from "../errors";
import type { LogPort } from "../observability/log-port";
import { createUser } from "./create-user";
import type { CreateUserDeps, CreateUserResult } from "./create-user";
import { requestHash } from "./idempotency";
import type { CreationOutcome, IdempotencyRecord, NewUserRequest, SystemMode } from "./model";
import { existingUserFor } from "./natural-keys";
import type { AppUser } from "./model";
import type { KeyAnswer, ProvisioningQueue } from "./ports";
import { presentAccepted, presentUser } from "./presenters";

export interface SubmitUserOptions {
  /** How long a key and its answer are kept (>= 24 h). */
  readonly keyTtlHours: number;
  /** How long a request owns its key while it is in progress. */
  readonly leaseSeconds: number;
}

export interface SubmitUserDeps extends CreateUserDeps {
  readonly mode: { current(): Promise<SystemMode> };
  readonly queue: ProvisioningQueue;
  readonly log: LogPort;
  readonly options: SubmitUserOptions;
}

export interface SubmitUserInput {
  readonly idempotencyKey: string;
  readonly request: NewUserRequest;
}

export interface SubmitUserResult {
  readonly outcome: CreationOutcome;
  /** The wire body (a user, or `{provisioningId, status}`), identical on every replay. */
  readonly body: unknown;
  readonly replayed: boolean;
}

interface Attempt extends SubmitUserInput {
  readonly payloadHash: string;
}

/** The key expired and was removed while this request looked at it: submit once more. */
const EXPIRED = Symbol("expired key removed");
type Step = SubmitUserResult | typeof EXPIRED;

const IN_PROGRESS = "a request with this Idempotency-Key is still in progress";

/**
 * POST /v1/users: exactly one user per Idempotency-Key and per set of identifiers, in either mode.
 * The same key with the same body answers what the first request answered; with another body it is
 * refused; while its twin is still running it is a conflict to retry shortly.
 */
export async function submitUserCreation(deps: SubmitUserDeps, input: SubmitUserInput): Promise<SubmitUserResult> {
  const attempt: Attempt = { ...input, payloadHash: requestHash(input.request) };
  const mode = await deps.mode.current();
  const first = await submitIn(deps, attempt, mode);
  if (first !== EXPIRED) return first;
  const second = await submitIn(deps, attempt, mode);
  if (second === EXPIRED) throw new ConflictError(IN_PROGRESS, { retryAfterSeconds: 1 });
  return second;
}

function submitIn(deps: SubmitUserDeps, attempt: Attempt, mode: SystemMode): Promise<Step> {
  return mode === "sync_direct" ? submitDirect(deps, attempt) : submitQueued(deps, attempt);
}

function fresh(result: Exclude<CreateUserResult, { kind: "key_taken" }>): SubmitUserResult {
  return { outcome: result.kind, body: presentUser(result.user), replayed: false };
}

/** sync_direct: one transaction records the key with the new user; a twin's key makes it a replay. */
async function submitDirect(deps: SubmitUserDeps, attempt: Attempt): Promise<Step> {
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + deps.options.keyTtlHours * 3_600_000);
  const result = await createUser(deps, {
    request: attempt.request,
    key: { write: { kind: "insert", key: attempt.idempotencyKey, payloadHash: attempt.payloadHash, expiresAt }, resourceId: null },
  });
  return result.kind === "key_taken" ? fromExistingKey(deps, attempt) : fresh(result);
}

/** async_queue: claim the key with a pending provisioning record, then queue the creation. */
async function submitQueued(deps: SubmitUserDeps, attempt: Attempt): Promise<Step> {
  const now = deps.clock.now();
  const provisioningId = deps.ids.uuid();
  const claim = await deps.store.claimForQueue({
    key: attempt.idempotencyKey,
    payloadHash: attempt.payloadHash,
    expiresAt: new Date(now.getTime() + deps.options.keyTtlHours * 3_600_000),
    lockedUntil: leaseEnd(deps, now),
    provisioningId,
    request: attempt.request,
  });
  if (claim.kind === "key_taken") return fromExistingKey(deps, attempt);
  if (claim.matches.length > 0) return answerExisting(deps, attempt, provisioningId, claim.matches);
  return sendOrFallBack(deps, attempt, provisioningId);
}

function leaseEnd(deps: SubmitUserDeps, now: Date): Date {
  return new Date(now.getTime() + deps.options.leaseSeconds * 1000);
}

function completion(attempt: Attempt, outcome: CreationOutcome, body: unknown, resourceId: string, now: Date): KeyAnswer {
  return { write: { kind: "complete", key: attempt.idempotencyKey }, outcome, body, resourceId, now };
}

/** The identifiers name an active user already: answer that user, or refuse and forget the claim. */
async function answerExisting(deps: SubmitUserDeps, attempt: Attempt, provisioningId: string, matches: readonly AppUser[]): Promise<Step> {
  let user: AppUser;
  try {
    user = existingUserFor(attempt.request, matches);
  } catch (error) {
    await deps.store.releaseKey(attempt.idempotencyKey, provisioningId);
    throw error;
  }
  const body = presentUser(user);
  await deps.store.recordExisting(user.id, completion(attempt, "existing", body, provisioningId, deps.clock.now()), { id: provisioningId });
  return { outcome: "existing", body, replayed: false };
}

/**
 * Queues the creation and records the 202. When SQS refuses or times out, the user is created
 * here and now instead (the queue adapter records the CRITICAL event); the caller never sees the
 * queue's failure. If the message did get through after all, the consumer finds the record done.
 */
async function sendOrFallBack(deps: SubmitUserDeps, attempt: Attempt, provisioningId: string): Promise<Step> {
  try {
    await deps.queue.send({ provisioningId, idempotencyKey: attempt.idempotencyKey, request: attempt.request });
  } catch (error) {
    deps.log.warn("provisioning queue unavailable: creating the user synchronously", { provisioningId, reason: String(error) });
    return createNow(deps, attempt, provisioningId);
  }
  const body = presentAccepted(provisioningId);
  try {
    await deps.store.completeKey(completion(attempt, "accepted", body, provisioningId, deps.clock.now()));
  } catch (error) {
    // Queued but not recorded: a retry (after the lease) re-sends the same provisioning id, which the consumer settles once.
    throw new UnavailableError("user creation queued but its Idempotency-Key could not be completed", { cause: error, outcome: "unknown" });
  }
  return { outcome: "accepted", body, replayed: false };
}

/** Creates the user in the request, completing a key this request holds. */
async function createNow(deps: SubmitUserDeps, attempt: Attempt, provisioningId: string | null): Promise<Step> {
  const result = await createUser(deps, {
    request: attempt.request,
    key: { write: { kind: "complete", key: attempt.idempotencyKey }, resourceId: provisioningId },
    provisioning: provisioningId ? { id: provisioningId } : undefined,
  });
  if (result.kind === "key_taken") throw new ConflictError(IN_PROGRESS, { retryAfterSeconds: 1 });
  return fresh(result);
}

/** The key was recorded by an earlier request: replay, refuse, or take over a crashed owner's claim. */
async function fromExistingKey(deps: SubmitUserDeps, attempt: Attempt): Promise<Step> {
  const now = deps.clock.now();
  const record = await deps.store.getKey(attempt.idempotencyKey);
  if (!record) return EXPIRED;
  if (record.expiresAt <= now) {
    await deps.store.deleteExpiredKey(attempt.idempotencyKey, now);
    return EXPIRED;
  }
  if (record.payloadHash !== attempt.payloadHash) {
    throw UnprocessableError.field("headers.idempotency-key", "was already used with a different request body");
  }
  if (record.state === "completed" && record.outcome) return { outcome: record.outcome, body: record.responseBody, replayed: true };
  if (record.lockedUntil && record.lockedUntil > now) throw new ConflictError(IN_PROGRESS, { retryAfterSeconds: 1 });
  const taken = await deps.store.takeOverKey(attempt.idempotencyKey, attempt.payloadHash, now, leaseEnd(deps, now));
  if (!taken) throw new ConflictError(IN_PROGRESS, { retryAfterSeconds: 1 });
  return resume(deps, attempt, taken);
}

/** Finishes what a crashed owner started, in the mode in force now. */
async function resume(deps: SubmitUserDeps, attempt: Attempt, record: IdempotencyRecord): Promise<Step> {
  deps.log.warn("taking over an Idempotency-Key whose owner stopped", { provisioningId: record.resourceId });
  if (record.resourceId && (await deps.mode.current()) === "async_queue") return sendOrFallBack(deps, attempt, record.resourceId);
  return createNow(deps, attempt, record.resourceId);
}
