import * as z from "zod/mini";
import { healthLevels } from "./model";
import { lazy } from "../validation/lazy";

export const healthEventQuerySchema = /* @__PURE__ */ lazy(() => z.object({
  level: z.optional(z.enum(healthLevels)),
  since: z.optional(z.pipe(z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" }), z.transform((value) => new Date(value)))),
  limit: z._default(z.coerce.number().check(z.int("must be an integer"), z.minimum(1, "must be at least 1"), z.maximum(500, "must be at most 500")), 100),
}));

export const healthEventResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  id: z.string(),
  level: z.enum(healthLevels),
  message: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
}));

export const healthEventListResponseSchema = /* @__PURE__ */ lazy(() => z.object({ events: z.array(healthEventResponseSchema()) }));
