import * as z from "zod/mini";

/** Largest Telegram id: they fit in 52 bits. */
const MAX_TELEGRAM_ID = 2 ** 52;

/** A Telegram id as number or decimal string; always a decimal string afterwards (int8-safe). */
export const telegramIdSchema = z
  .pipe(
    z.union([z.int(), z.string().check(z.regex(/^[1-9][0-9]{0,15}$/, "must be a positive integer"))]),
    z.transform((value) => String(value)),
  )
  .check(z.refine((value) => Number(value) > 0 && Number(value) <= MAX_TELEGRAM_ID, "must be a positive integer of at most 52 bits"));

export const okxUidSchema = z.string().check(z.regex(/^[1-9][0-9]{11,19}$/, "must be 12-20 digits"));

export const userIdSchema = z.pipe(z.uuid("must be a UUID"), z.transform((value) => value.toLowerCase()));

export const mappingBodySchema = z.object({
  telegramId: telegramIdSchema,
  okxUid: z._default(z.nullable(okxUidSchema), null),
  isActive: z._default(z.boolean(), true),
});

export const batchBodySchema = z.object({
  identifiers: z
    .array(z.string().check(z.maxLength(64, "is too long")))
    .check(z.minLength(1, "must not be empty"), z.maxLength(100, "at most 100 identifiers per batch")),
});

export const mappingSearchSchema = z.object({
  telegramId: z.optional(telegramIdSchema),
  okxUid: z.optional(okxUidSchema),
});

const lookupSourceSchema = z.enum(["cache", "database", "legacy", "direct"]);

/** Wire shapes (presenters.ts builds them; the OpenAPI document shows them). */
export const lookupResponseSchema = z.object({
  identifier: z.string(),
  telegramId: z.string().check(z.describe("decimal string: Telegram ids need up to 52 bits")),
  userId: z.nullable(z.string()),
  okxUid: z.nullable(z.string()),
  source: lookupSourceSchema,
});

export const batchResponseSchema = z.object({
  results: z.array(z.union([z.extend(lookupResponseSchema, { found: z.literal(true) }), z.object({ identifier: z.string(), found: z.literal(false) })])),
});

export const mappingResponseSchema = z.object({
  userId: z.string(),
  telegramId: z.string(),
  okxUid: z.nullable(z.string()),
  isActive: z.boolean(),
  source: z.enum(["admin", "import", "legacy", "registration"]),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const mappingListResponseSchema = z.object({ mappings: z.array(mappingResponseSchema) });

export const identifierParamsSchema = z.object({ identifier: z.string().check(z.maxLength(64, "is too long")) });
export const userIdParamsSchema = z.object({ userId: userIdSchema });
