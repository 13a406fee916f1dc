import { z } from "zod";

/** Largest Telegram id: they fit in 52 bits. */
const MAX_TELEGRAM_ID = 2 ** 52;

/** A Telegram id as number or decimal string; always a decimal string afterwards (int8-safe). */
export const telegramIdSchema = z
  .union([z.number().int(), z.string().regex(/^[1-9][0-9]{0,15}$/, "must be a positive integer")])
  .transform((value) => String(value))
  .refine((value) => Number(value) > 0 && Number(value) <= MAX_TELEGRAM_ID, "must be a positive integer of at most 52 bits");

export const okxUidSchema = z.string().regex(/^[1-9][0-9]{11,19}$/, "must be 12-20 digits");

export const userIdSchema = z.uuid("must be a UUID").transform((value) => value.toLowerCase());

export const mappingBodySchema = z.object({
  telegramId: telegramIdSchema,
  okxUid: okxUidSchema.nullable().default(null),
  isActive: z.boolean().default(true),
});

export const batchBodySchema = z.object({
  identifiers: z.array(z.string().max(64, "is too long")).min(1, "must not be empty").max(100, "at most 100 identifiers per batch"),
});

export const mappingSearchSchema = z.object({
  telegramId: telegramIdSchema.optional(),
  okxUid: okxUidSchema.optional(),
});

const lookupSourceSchema = z.enum(["cache", "database", "legacy", "direct"]);

/** Wire shapes (presenters.ts builds them; the OpenAPI document shows them). */
export const lookupResponseSchema = z.object({
  identifier: z.string(),
  telegramId: z.string().describe("decimal string: Telegram ids need up to 52 bits"),
  userId: z.string().nullable(),
  okxUid: z.string().nullable(),
  source: lookupSourceSchema,
});

export const batchResponseSchema = z.object({
  results: z.array(z.union([lookupResponseSchema.extend({ found: z.literal(true) }), z.object({ identifier: z.string(), found: z.literal(false) })])),
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
