import * as z from "zod/mini";
import { identifierKinds, okxUidProblem, telegramIdProblem } from "./identifier";
import { lazy } from "../validation/lazy";

/** Runs one of identifier.ts' checks as a zod refinement, so every entry point says the same. */
const checkedWith = (problem: (value: string) => string | null) =>
  z.superRefine((value: string, context) => {
    const found = problem(value);
    if (found) context.addIssue({ code: "custom", message: found, input: value });
  });

/**
 * A Telegram chat id as number or decimal string; always a decimal string afterwards (int8-safe).
 * Negative ids (groups, channels) are allowed; the 52-bit bound holds either way.
 */
export const telegramIdSchema = /* @__PURE__ */ lazy(() => z
  .pipe(
    z.union([z.int("must be an integer"), z.string().check(z.trim())]),
    z.transform((value) => String(value)),
  )
  .check(checkedWith(telegramIdProblem)));

export const okxUidSchema = /* @__PURE__ */ lazy(() => z.string().check(z.trim(), checkedWith(okxUidProblem)));

export const userIdSchema = /* @__PURE__ */ lazy(() => z.pipe(z.uuid("must be a UUID"), z.transform((value) => value.toLowerCase())));

export const identifierKindSchema = /* @__PURE__ */ lazy(() => z.enum(identifierKinds));

/** PUT replaces the whole mapping: every field is stated (okxUid null for none); isActive defaults to true. */
export const mappingBodySchema = /* @__PURE__ */ lazy(() => z.object({
  telegramId: telegramIdSchema(),
  okxUid: z.union([okxUidSchema(), z.null()], {
    error: (issue) => (issue.input === undefined ? "is required: PUT replaces the whole mapping (null for none; PATCH changes some fields)" : undefined),
  }),
  isActive: z._default(z.boolean(), true),
}));

/**
 * PATCH is a JSON merge patch (RFC 7396) of the mapping: a member present replaces the field,
 * `null` removes it (okxUid only), a member absent keeps it; unknown members are refused.
 */
export const mappingPatchSchema = /* @__PURE__ */ lazy(() => z.strictObject({
  telegramId: z.optional(z.union([telegramIdSchema(), z.null()])),
  okxUid: z.optional(z.union([okxUidSchema(), z.null()])),
  isActive: z.optional(z.union([z.boolean(), z.null()])),
}));

export const MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json";

const identifierText = /* @__PURE__ */ lazy(() => z.string().check(z.maxLength(64, "is too long")));

/** A bare string (the digit rule decides its kind) or `{kind, value}` (the caller says). */
export const batchIdentifierSchema = /* @__PURE__ */ lazy(() => z.union([identifierText(), z.object({ kind: identifierKindSchema(), value: identifierText() })]));

export const batchBodySchema = /* @__PURE__ */ lazy(() => z.object({
  identifiers: z.array(batchIdentifierSchema()).check(z.minLength(1, "must not be empty"), z.maxLength(100, "at most 100 identifiers per batch")),
}));

export const lookupQuerySchema = /* @__PURE__ */ lazy(() => z.object({
  kind: z.optional(identifierKindSchema()).check(z.describe("what the identifier is; without it the digit rule decides (see README)")),
}));

export const mappingSearchSchema = /* @__PURE__ */ lazy(() => z.object({
  telegramId: z.optional(telegramIdSchema()),
  okxUid: z.optional(okxUidSchema()),
}));

const lookupSourceSchema = /* @__PURE__ */ lazy(() => z.enum(["cache", "database", "legacy", "direct"]));

/** Wire shapes (presenters.ts builds them; the OpenAPI document shows them). */
export const lookupResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  identifier: z.string(),
  kind: identifierKindSchema().check(z.describe("how the identifier was read: as named by the caller, else by the digit rule")),
  telegramId: z.string().check(z.describe("decimal string: Telegram ids need up to 52 bits")),
  userId: z.nullable(z.string()),
  okxUid: z.nullable(z.string()),
  source: lookupSourceSchema(),
}));

export const batchResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  results: z.array(
    z.union([z.extend(lookupResponseSchema(), { found: z.literal(true) }), z.object({ identifier: z.string(), kind: identifierKindSchema(), found: z.literal(false), reason: z.enum(["not_found", "unavailable"]) })]),
  ),
}));

export const mappingResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  userId: z.string(),
  telegramId: z.string(),
  okxUid: z.nullable(z.string()),
  isActive: z.boolean(),
  source: z.enum(["admin", "import", "legacy", "registration"]),
  createdAt: z.string(),
  updatedAt: z.string(),
}));

export const mappingListResponseSchema = /* @__PURE__ */ lazy(() => z.object({ mappings: z.array(mappingResponseSchema()) }));

export const identifierParamsSchema = /* @__PURE__ */ lazy(() => z.object({ identifier: identifierText() }));
export const userIdParamsSchema = /* @__PURE__ */ lazy(() => z.object({ userId: userIdSchema() }));
