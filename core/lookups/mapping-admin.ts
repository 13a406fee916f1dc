import { NotFoundError, UnprocessableError, ValidationError } from "../errors";
import { telegramIdMisreadProblem } from "./identifier";
import type { Identifier } from "./identifier";
import type { Mapping } from "./model";
import type { LookupCache, MappingChange, MappingInput, MappingRepository } from "./ports";

export interface MappingAdminDeps {
  readonly repository: MappingRepository;
  readonly cache: LookupCache;
}

/** Every cache entry a mapping can answer for: by user id, by okx uid, by telegram id. */
export function identifiersOf(mapping: Mapping): Identifier[] {
  return [
    { kind: "user_id", value: mapping.userId },
    { kind: "telegram_id", value: mapping.telegramId },
    ...(mapping.okxUid ? [{ kind: "okx_uid" as const, value: mapping.okxUid }] : []),
  ];
}

/** Write-through invalidation: entries of the old and the new state go at once, not after a TTL. */
export async function invalidateChange(cache: LookupCache, change: MappingChange, except: readonly Identifier[] = []): Promise<void> {
  if (!change.changed) return;
  const all = [...(change.previous ? identifiersOf(change.previous) : []), ...identifiersOf(change.current)];
  const keep = new Set(except.map((id) => `${id.kind}:${id.value}`));
  const unique = [...new Map(all.map((id) => [`${id.kind}:${id.value}`, id])).entries()]
    .filter(([key]) => !keep.has(key))
    .map(([, id]) => id);
  if (unique.length > 0) await cache.invalidate(unique);
}

/** Refuses what lookups without a kind would read as another kind (see identifier.ts). */
export function assertReadableTelegramId(telegramId: string, field = "body.telegramId"): void {
  const problem = telegramIdMisreadProblem(telegramId);
  if (problem) throw UnprocessableError.field(field, problem);
}

export async function putMapping(deps: MappingAdminDeps, input: MappingInput): Promise<{ mapping: Mapping; created: boolean }> {
  assertReadableTelegramId(input.telegramId);
  const change = await deps.repository.upsert(input, "admin");
  await invalidateChange(deps.cache, change);
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
  await invalidateChange(deps.cache, change);
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
  await invalidateChange(deps.cache, change);
  return change.current;
}

export async function searchMappings(
  deps: MappingAdminDeps,
  filter: { telegramId?: string | undefined; okxUid?: string | undefined },
): Promise<Mapping[]> {
  if (!filter.telegramId && !filter.okxUid) throw ValidationError.field("query", "give telegramId or okxUid");
  return deps.repository.search(filter);
}
