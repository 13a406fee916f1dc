import { NotFoundError, UnprocessableError, ValidationError } from "../errors";
import { telegramIdMisreadProblem } from "./identifier";
import { deliverInvalidation } from "./invalidation";
import type { InvalidationDeliveryDeps } from "./invalidation";
import type { Mapping } from "./model";
import type { MappingChange, MappingInput, MappingRepository } from "./ports";

export interface MappingAdminDeps {
  readonly repository: MappingRepository;
  /** Where the invalidation each change wrote in its transaction is delivered after the commit. */
  readonly invalidations: InvalidationDeliveryDeps;
}

/**
 * Write-through invalidation of a committed change: entries of the old and the new state go at
 * once, not after a TTL. When Redis cannot take it the outbox row stays (delivered later) and the
 * change is still acknowledged: reads do not trust those entries while the row is pending.
 */
async function invalidateChange(deps: MappingAdminDeps, change: MappingChange): Promise<void> {
  await deliverInvalidation(deps.invalidations, change.invalidation);
}

/** Refuses what lookups without a kind would read as another kind (see identifier.ts). */
export function assertReadableTelegramId(telegramId: string, field = "body.telegramId"): void {
  const problem = telegramIdMisreadProblem(telegramId);
  if (problem) throw UnprocessableError.field(field, problem);
}

export async function putMapping(deps: MappingAdminDeps, input: MappingInput): Promise<{ mapping: Mapping; created: boolean }> {
  assertReadableTelegramId(input.telegramId);
  const change = await deps.repository.upsert(input, "admin");
  await invalidateChange(deps, change);
  return { mapping: change.current, created: change.previous === null };
}

/** JSON merge patch of a mapping (see mappingPatchSchema); a missing mapping is 404. */
export async function patchMapping(
  deps: MappingAdminDeps,
  userId: string,
  patch: { readonly telegramId?: string | null | undefined; readonly okxUid?: string | null | undefined; readonly isActive?: boolean | null | undefined },
): Promise<Mapping> {
  if (patch.telegramId === null) throw UnprocessableError.field("body.telegramId", "cannot be removed: a mapping needs a Telegram id");
  if (patch.isActive === null) throw UnprocessableError.field("body.isActive", "cannot be removed: use true or false");
  if (patch.telegramId !== undefined) assertReadableTelegramId(patch.telegramId);
  const change = await deps.repository.patch(userId, { telegramId: patch.telegramId, okxUid: patch.okxUid, isActive: patch.isActive }, "admin");
  if (!change) throw new NotFoundError(`no mapping for user ${userId}`);
  await invalidateChange(deps, change);
  return change.current;
}

export async function getMapping(deps: MappingAdminDeps, userId: string): Promise<Mapping> {
  const mapping = await deps.repository.getByUserId(userId);
  if (!mapping) throw new NotFoundError(`no mapping for user ${userId}`);
  return mapping;
}

export async function deactivateMapping(deps: MappingAdminDeps, userId: string): Promise<Mapping> {
  const change = await deps.repository.deactivate(userId);
  if (!change) throw new NotFoundError(`no mapping for user ${userId}`);
  await invalidateChange(deps, change);
  return change.current;
}

export async function searchMappings(
  deps: MappingAdminDeps,
  filter: { telegramId?: string | undefined; okxUid?: string | undefined },
): Promise<Mapping[]> {
  if (!filter.telegramId && !filter.okxUid) throw ValidationError.field("query", "give telegramId or okxUid");
  return deps.repository.search(filter);
}
