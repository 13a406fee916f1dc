import * as z from "zod/mini";
import { settingsSources } from "./model";
import { lazy } from "../validation/lazy";

/**
 * Wire shapes of the settings routes (path, query, bodies, answers). Apart from the document
 * schemas (schemas.ts) so that what imports those alone (the sync, the bot) does not build these.
 */
export const MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json";

/** `{ref}` is parsed by core/identity/user-ref.ts, `{type}` by the use case (an unknown type is a 404). */
export const settingsPathSchema = /* @__PURE__ */ lazy(() => z.object({ ref: z.string(), type: z.string() }));

/** Optional optimistic concurrency on writes: `If-Match: "v{version}"` (412 when the version moved on; read by expectedVersionOf). */
export const settingsWriteHeadersSchema = /* @__PURE__ */ lazy(() => z.object({ "if-match": z.optional(z.string()) }));
export const settingsRefPathSchema = /* @__PURE__ */ lazy(() => z.object({ ref: z.string() }));

/** The settings document of a PUT (validated per type by the use case, so any JSON reaches it). */
export const settingsBodySchema = /* @__PURE__ */ lazy(() => z.unknown());

export const historyQuerySchema = /* @__PURE__ */ lazy(() => z.object({
  limit: z._default(z.coerce.number().check(z.int("must be an integer"), z.minimum(1, "must be at least 1"), z.maximum(100, "must be at most 100")), 20),
  beforeVersion: z.optional(z.coerce.number().check(z.int("must be an integer"), z.minimum(1, "must be at least 1"))),
}));

export const restoreBodySchema = /* @__PURE__ */ lazy(() => z.object({ version: z.int("must be an integer").check(z.minimum(1, "must be at least 1")) }));

const documentWire = /* @__PURE__ */ lazy(() => z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])));

export const settingsEntryWireSchema = /* @__PURE__ */ lazy(() => z.object({
  settings: documentWire(),
  version: z.int(),
  updatedAt: z.nullable(z.string()),
  synced: z.boolean(),
}));

export const allSettingsWireSchema = /* @__PURE__ */ lazy(() => z.object({
  preferences: z.nullable(settingsEntryWireSchema()),
  params: z.nullable(settingsEntryWireSchema()),
  dual_side: z.nullable(settingsEntryWireSchema()),
}));

export const historyWireSchema = /* @__PURE__ */ lazy(() => z.object({
  versions: z.array(
    z.object({ version: z.int(), settings: documentWire(), changedAt: z.string(), actor: z.string(), source: z.enum(settingsSources) }),
  ),
}));
