import { lambda } from "./platform";
import type { Platform } from "./platform";

/** How often the scheduled sync runs; each run resumes where the previous one stopped. */
export const SYNC_SCHEDULE = "rate(1 minute)";

/**
 * The scheduled Redis -> Postgres sync (core/sync): bots that write the legacy keys directly do not
 * lose those writes. The run keeps SYNC_RESERVE_MS of its 30 s free, so it never hits the timeout.
 */
export function syncInfra({ redis, postgres }: Platform) {
  new sst.aws.CronV2("RedisSync", {
    schedule: SYNC_SCHEDULE,
    function: lambda("functions/sync-cron.handler", { link: [...redis, ...postgres], timeout: "30 seconds", memory: "512 MB" }),
  });
}
