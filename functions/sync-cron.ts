import { firstFailure, runScheduledSync } from "../core/sync/run-scheduled";
import { platform } from "../runtime/platform";
import { syncConfig, syncDeps, syncSources } from "../runtime/sync";

interface CronContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/**
 * Scheduled (infra/sync.ts): copies what bots wrote only to Redis into Postgres, every source in
 * turn within the invocation's time (minus a reserve), from each source's saved cursor. Invalid
 * values and conflicts are counted and logged; a dependency failure fails the invocation (after
 * the other sources had their turn), so it shows in the error metrics and the next run resumes.
 */
export const handler = async (_event: unknown, context: CronContext): Promise<{ readonly sources: readonly object[] }> => {
  const { clock, logger } = platform();
  const config = syncConfig();
  const deadline = new Date(clock.now().getTime() + context.getRemainingTimeInMillis() - config.SYNC_RESERVE_MS);
  const sources = Object.values(syncSources).map((source) => source());
  const summaries = await runScheduledSync(syncDeps(), sources, {
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
