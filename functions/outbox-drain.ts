import { drainOutbox } from "../core/outbox/drain";
import type { DrainReport } from "../core/outbox/drain";
import { outbox, outboxHandlers } from "../runtime/outbox";
import { platform } from "../runtime/platform";

/** Time kept back for the last batch's deletes and the log line before Lambda's timeout. */
const RESERVE_MS = 5_000;

interface CronContext {
  getRemainingTimeInMillis(): number;
}

/**
 * Scheduled: delivers outbox rows that their writers could not (Redis was down) or did not (the
 * writer died after its commit). Fails the invocation when the database itself fails, so it shows
 * in the function's error metrics; handler failures stay in their rows for the next run.
 */
export const handler = async (_event: unknown, context: CronContext): Promise<DrainReport> => {
  const deps = outbox();
  const report = await drainOutbox(deps, {
    handlers: await outboxHandlers(),
    limit: deps.batch,
    batches: 1_000,
    deadline: () => context.getRemainingTimeInMillis() < RESERVE_MS,
  });
  platform().logger.info("outbox drained", { ...report });
  return report;
};
