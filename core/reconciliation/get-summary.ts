import type { Principal } from "../auth/tokens";
import type { CacheOutcome } from "../cache/model";
import type { ReadThroughCache } from "../cache/read-through-cache";
import { userTag } from "../cache/tags";
import { resolveUserRef } from "../identity/user-ref";
import type { UserDirectory, UserRef } from "../identity/user-ref";
import { presentReconciliationHistory, presentReconciliationSummary } from "./presenters";
import type { ReconciliationHistoryWire } from "./presenters";
import type { OpenPositionCount, ReconciliationLog } from "./ports";

export interface ReconciliationSummaryDeps {
  readonly directory: UserDirectory;
  readonly log: ReconciliationLog;
  readonly openPositions: OpenPositionCount;
  /** Tagged with the user: any write of theirs invalidates it at once. */
  readonly cache: ReadThroughCache<ReconciliationHistoryWire>;
}

export interface ReconciliationSummaryAnswer {
  readonly summary: ReturnType<typeof presentReconciliationSummary>;
  readonly cache: CacheOutcome;
}

/** The history from the cache (or one SQL query) and the open-position count from Redis, in parallel. */
export async function getReconciliationSummary(deps: ReconciliationSummaryDeps, input: { readonly principal: Principal; readonly ref: UserRef }): Promise<ReconciliationSummaryAnswer> {
  const userId = await resolveUserRef({ directory: deps.directory }, input.principal, input.ref);
  const [answer, openPositions] = await Promise.all([
    deps.cache.get({ key: userId, tags: [userTag(userId)], fill: async () => presentReconciliationHistory(await deps.log.history(userId)) }),
    deps.openPositions.count(userId),
  ]);
  // The fill never answers "does not exist": a user without events has an empty history.
  const history = answer.value ?? { totalSyncs: 0, divergencesDetected: 0, lastSyncAt: null, recentEvents: [] };
  return { summary: presentReconciliationSummary(history, openPositions), cache: answer.outcome };
}
