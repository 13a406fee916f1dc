import type * as z from "zod/mini";
import type { HealthEvent } from "./model";
import type { healthEventResponseSchema } from "./schemas";

export function presentHealthEvent(event: HealthEvent): z.output<ReturnType<typeof healthEventResponseSchema>> {
  return { id: event.id, level: event.level, message: event.message, metadata: { ...event.metadata }, createdAt: event.createdAt.toISOString() };
}
