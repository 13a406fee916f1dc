import { z } from "zod";
import { okxUidSchema, telegramIdSchema } from "../lookups/schemas";
import { systemModes } from "./model";

export const emailSchema = z
  .string()
  .trim()
  .max(254, "must be at most 254 characters")
  .pipe(z.email("must be an email address"))
  .transform((value) => value.toLowerCase());

export const createUserBodySchema = z.object({
  email: emailSchema,
  telegramId: telegramIdSchema,
  okxUid: okxUidSchema.nullable().default(null),
  plan: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, "must be 1-64 lower-case letters, digits, '.', '_' or '-'")
    .nullable()
    .default(null),
  displayName: z.string().trim().min(1, "must not be empty").max(128, "must be at most 128 characters").nullable().default(null),
});

/** Idempotency-Key: 1-255 visible ASCII characters. */
export const idempotencyKeySchema = z
  .string({ error: "is required" })
  .regex(/^[\x21-\x7E]{1,255}$/, "must be 1-255 visible ASCII characters (no spaces)");

export const provisioningMessageSchema = z.object({
  provisioningId: z.uuid(),
  idempotencyKey: idempotencyKeySchema,
  request: createUserBodySchema,
});

export const userResponseSchema = z.object({
  id: z.string(),
  email: z.string(),
  telegramId: z.string().describe("decimal string: Telegram ids need up to 52 bits"),
  okxUid: z.string().nullable(),
  plan: z.string().nullable(),
  displayName: z.string().nullable(),
  isActive: z.boolean(),
  createdAt: z.string(),
});

export const acceptedResponseSchema = z.object({ provisioningId: z.string(), status: z.literal("pending") });

export const provisioningParamsSchema = z.object({ id: z.uuid("must be a UUID").transform((value) => value.toLowerCase()) });

export const provisioningResponseSchema = z.object({
  id: z.string(),
  status: z.enum(["pending", "done", "failed"]),
  userId: z.string().optional(),
  error: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const systemModeBodySchema = z.object({
  mode: z.enum(systemModes),
  reason: z.string().trim().min(1, "must not be empty").max(500, "must be at most 500 characters"),
});

export const systemModeResponseSchema = z.object({
  mode: z.enum(systemModes),
  version: z.number().int(),
  reason: z.string().nullable(),
  updatedBy: z.string().nullable(),
  updatedAt: z.string(),
});

export const systemModeChangeResponseSchema = systemModeResponseSchema.extend({ changed: z.boolean() });
