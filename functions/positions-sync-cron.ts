import { firstFailure, runScheduledSync } from "../core/sync/run-scheduled";
import { platform } from "../runtime/platform";
import { positionsSyncSource } from "../runtime/positions";
import { syncConfig, syncDeps } from "../runtime/sync";

interface CronContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/**
 * Scheduled with the other sync sources (infra/positions.ts, the same schedule and settings): the
 * positions source of core/sync in a function of its own, because the shared sync cron's bundle has
 * no room left under its 400 KB budget. Same lock table, so it never overlaps an ops run.
 */
export const handler = async (_event: unknown, context: CronContext): Promise<{ readonly sources: readonly object[] }> => {
  const { clock, logger } = platform();
  const config = syncConfig();
  const deadline = new Date(clock.now().getTime() + context.getRemainingTimeInMillis() - config.SYNC_RESERVE_MS);
  const summaries = await runScheduledSync(syncDeps(), [positionsSyncSource()], {
    owner: context.awsRequestId,
    deadline,
    pageSize: config.SYNC_PAGE_SIZE,
    leaseMs: config.SYNC_LEASE_MS,
    reserveMs: 0,
  });
  for (const { error: _error, ...summary } of summaries) {
    const level = summary.stop === "error" || summary.counts.failed > 0 ? "error" : "info";
    logger[level]("sync run", { ...summary, problems: summary.problems.slice(0, 20), conflicts: summary.conflicts.slice(0, 20) });
  }
  const failure = firstFailure(summaries);
  if (failure !== undefined) throw failure;
  return { sources: summaries.map(({ source, counts, stop, lagSeconds }) => ({ source, counts, stop, lagSeconds })) };
};
