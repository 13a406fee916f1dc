import { z } from "zod";
import { identifierKinds, okxUidProblem, telegramIdProblem } from "./identifier";

/** Runs one of identifier.ts' checks as a zod refinement, so every entry point says the same. */
const checkedWith = (problem: (value: string) => string | null) => (value: string, context: z.core.$RefinementCtx<string>) => {
  const found = problem(value);
  if (found) context.addIssue({ code: "custom", message: found });
};

/**
 * A Telegram chat id as number or decimal string; always a decimal string afterwards (int8-safe).
 * Negative ids (groups, channels) are allowed; the 52-bit bound holds either way.
 */
export const telegramIdSchema = z
  .union([z.number().int("must be an integer"), z.string().trim()])
  .transform((value) => String(value))
  .superRefine(checkedWith(telegramIdProblem));

export const okxUidSchema = z.string().trim().superRefine(checkedWith(okxUidProblem));

export const userIdSchema = z.uuid("must be a UUID").transform((value) => value.toLowerCase());

export const identifierKindSchema = z.enum(identifierKinds);

/** PUT replaces the whole mapping: every field is stated (okxUid null for none); isActive defaults to true. */
export const mappingBodySchema = z.object({
  telegramId: telegramIdSchema,
  okxUid: z.union([okxUidSchema, z.null()], {
    error: (issue) => (issue.input === undefined ? "is required: PUT replaces the whole mapping (null for none; PATCH changes some fields)" : undefined),
  }),
  isActive: z.boolean().default(true),
});

/**
 * PATCH is a JSON merge patch (RFC 7396) of the mapping: a member present replaces the field,
 * `null` removes it (okxUid only), a member absent keeps it; unknown members are refused.
 */
export const mappingPatchSchema = z.strictObject({
  telegramId: z.union([telegramIdSchema, z.null()]).optional(),
  okxUid: z.union([okxUidSchema, z.null()]).optional(),
  isActive: z.union([z.boolean(), z.null()]).optional(),
});

export const MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json";

/** A bare string (the digit rule decides its kind) or `{kind, value}` (the caller says). */
export const batchIdentifierSchema = z.union([
  z.string().max(64, "is too long"),
  z.object({ kind: identifierKindSchema, value: z.string().max(64, "is too long") }),
]);

export const batchBodySchema = z.object({
  identifiers: z.array(batchIdentifierSchema).min(1, "must not be empty").max(100, "at most 100 identifiers per batch"),
});

export const lookupQuerySchema = z.object({
  kind: identifierKindSchema.optional().describe("what the identifier is; without it the digit rule decides (see README)"),
});

export const mappingSearchSchema = z.object({
  telegramId: telegramIdSchema.optional(),
  okxUid: okxUidSchema.optional(),
});

const lookupSourceSchema = z.enum(["cache", "database", "legacy", "direct"]);

/** Wire shapes (presenters.ts builds them; the OpenAPI document shows them). */
export const lookupResponseSchema = z.object({
  identifier: z.string(),
  kind: identifierKindSchema.describe("how the identifier was read: as named by the caller, else by the digit rule"),
  telegramId: z.string().describe("decimal string: Telegram ids need up to 52 bits"),
  userId: z.string().nullable(),
  okxUid: z.string().nullable(),
  source: lookupSourceSchema,
});

export const batchResponseSchema = z.object({
  results: z.array(z.union([lookupResponseSchema.extend({ found: z.literal(true) }), z.object({ identifier: z.string(), kind: identifierKindSchema, found: z.literal(false) })])),
});

export const mappingResponseSchema = z.object({
  userId: z.string(),
  telegramId: z.string(),
  okxUid: z.string().nullable(),
  isActive: z.boolean(),
  source: z.enum(["admin", "import", "legacy", "registration"]),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const mappingListResponseSchema = z.object({ mappings: z.array(mappingResponseSchema) });

export const identifierParamsSchema = z.object({ identifier: z.string().max(64, "is too long") });
export const userIdParamsSchema = z.object({ userId: userIdSchema });
