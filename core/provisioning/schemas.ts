import * as z from "zod/mini";
import { okxUidSchema, telegramIdSchema } from "../lookups/schemas";
import { systemModes } from "./model";
import { lazy } from "../validation/lazy";

export const emailSchema = /* @__PURE__ */ lazy(() => z.pipe(
  z.string().check(z.trim(), z.maxLength(254, "must be at most 254 characters"), z.email("must be an email address")),
  z.transform((value) => value.toLowerCase()),
));

const planSchema = /* @__PURE__ */ lazy(() => z.string().check(z.regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, "must be 1-64 lower-case letters, digits, '.', '_' or '-'")));
const displayNameSchema = /* @__PURE__ */ lazy(() => z.string().check(z.trim(), z.minLength(1, "must not be empty"), z.maxLength(128, "must be at most 128 characters")));

export const createUserBodySchema = /* @__PURE__ */ lazy(() => z.object({
  email: emailSchema(),
  telegramId: telegramIdSchema(),
  okxUid: z._default(z.nullable(okxUidSchema()), null),
  plan: z._default(z.nullable(planSchema()), null),
  displayName: z._default(z.nullable(displayNameSchema()), null),
}));

/** Idempotency-Key: 1-255 visible ASCII characters. */
export const idempotencyKeySchema = /* @__PURE__ */ lazy(() => z.string({ error: "is required" }).check(z.regex(/^[\x21-\x7E]{1,255}$/, "must be 1-255 visible ASCII characters (no spaces)")));

/** Headers of `POST /v1/users`: the key that makes a retry answer the first response instead of creating twice. */
export const createUserHeadersSchema = /* @__PURE__ */ lazy(() => z.object({ "idempotency-key": idempotencyKeySchema() }));

export const provisioningIdSchema = /* @__PURE__ */ lazy(() => z.uuid());

export const provisioningMessageSchema = /* @__PURE__ */ lazy(() => z.object({
  provisioningId: provisioningIdSchema(),
  idempotencyKey: idempotencyKeySchema(),
  request: createUserBodySchema(),
}));

export const userResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  id: z.string(),
  email: z.string(),
  telegramId: z.string().check(z.describe("decimal string: Telegram ids need up to 52 bits")),
  okxUid: z.nullable(z.string()),
  plan: z.nullable(z.string()),
  displayName: z.nullable(z.string()),
  isActive: z.boolean(),
  createdAt: z.string(),
}));

export const acceptedResponseSchema = /* @__PURE__ */ lazy(() => z.object({ provisioningId: z.string(), status: z.literal("pending") }));

export const provisioningParamsSchema = /* @__PURE__ */ lazy(() => z.object({ id: z.pipe(z.uuid("must be a UUID"), z.transform((value) => value.toLowerCase())) }));

export const provisioningResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  id: z.string(),
  status: z.enum(["pending", "done", "failed"]),
  userId: z.optional(z.string()),
  error: z.optional(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
}));

export const systemModeBodySchema = /* @__PURE__ */ lazy(() => z.object({
  mode: z.enum(systemModes),
  reason: z.string().check(z.trim(), z.minLength(1, "must not be empty"), z.maxLength(500, "must be at most 500 characters")),
}));

export const systemModeResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  mode: z.enum(systemModes),
  version: z.int(),
  reason: z.nullable(z.string()),
  updatedBy: z.nullable(z.string()),
  updatedAt: z.string(),
}));

export const systemModeChangeResponseSchema = /* @__PURE__ */ lazy(() => z.extend(systemModeResponseSchema(), { changed: z.boolean() }));
