import { z } from "zod";
import { healthLevels } from "./model";

export const healthEventQuerySchema = z.object({
  level: z.enum(healthLevels).optional(),
  since: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" }).transform((value) => new Date(value)).optional(),
  limit: z.coerce.number().int("must be an integer").min(1, "must be at least 1").max(500, "must be at most 500").default(100),
});

export const healthEventResponseSchema = z.object({
  id: z.string(),
  level: z.enum(healthLevels),
  message: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});

export const healthEventListResponseSchema = z.object({ events: z.array(healthEventResponseSchema) });
