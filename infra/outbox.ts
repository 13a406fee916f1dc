import { lambda } from "./platform";
import type { Platform } from "./platform";

/** How often the outbox is drained; writers deliver their own rows at once, this is the safety net. */
export const OUTBOX_DRAIN_SCHEDULE = "rate(1 minute)";

/** The transactional outbox's drain (core/outbox): delivers rows their writers could not. */
export function outboxInfra({ redis, postgres }: Platform) {
  new sst.aws.CronV2("OutboxDrain", {
    schedule: OUTBOX_DRAIN_SCHEDULE,
    function: lambda("functions/outbox-drain.handler", { link: [...redis, ...postgres], timeout: "30 seconds", memory: "256 MB" }),
  });
}
