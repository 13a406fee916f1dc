import type * as z from "zod/mini";
import type { IdentifierKind } from "./identifier";
import type { BatchEntry, LookupResult, Mapping } from "./model";
import type { batchResponseSchema, lookupResponseSchema, mappingResponseSchema } from "./schemas";

/** The JSON shapes the API returns; telegram ids stay decimal strings (52-bit safe everywhere). */
export function presentLookup(identifier: string, kind: IdentifierKind, result: LookupResult): z.output<ReturnType<typeof lookupResponseSchema>> {
  return { identifier, kind, telegramId: result.telegramId, userId: result.userId, okxUid: result.okxUid, source: result.source };
}

export function presentBatchEntry(entry: BatchEntry): z.output<ReturnType<typeof batchResponseSchema>>["results"][number] {
  return entry.found
    ? { found: true, ...presentLookup(entry.identifier, entry.kind, entry.result) }
    : { identifier: entry.identifier, kind: entry.kind, found: false, reason: entry.reason };
}

export function presentMapping(mapping: Mapping): z.output<ReturnType<typeof mappingResponseSchema>> {
  return {
    userId: mapping.userId,
    telegramId: mapping.telegramId,
    okxUid: mapping.okxUid,
    isActive: mapping.isActive,
    source: mapping.source,
    createdAt: mapping.createdAt.toISOString(),
    updatedAt: mapping.updatedAt.toISOString(),
  };
}
