import type { SyncSummary } from "./model";
import type { SyncSource } from "./ports";
import { runSync } from "./run-sync";
import type { SyncDeps, SyncRunOptions } from "./run-sync";

export interface ScheduledSyncInput extends Omit<SyncRunOptions, "deadline" | "dryRun" | "full" | "filter"> {
  /** When the invocation must be over (the function's timeout minus a reserve). */
  readonly deadline: Date;
}

/**
 * One scheduled run: each source in turn, each given an equal share of the time that is left, so a
 * source with a large backlog cannot starve the others (what it leaves undone, its cursor resumes
 * next minute). A source whose run failed does not stop the others; the caller fails the invocation.
 */
export async function runScheduledSync(deps: SyncDeps, sources: readonly SyncSource[], input: ScheduledSyncInput): Promise<SyncSummary[]> {
  const summaries: SyncSummary[] = [];
  for (const [index, source] of sources.entries()) {
    const now = deps.clock.now().getTime();
    const share = (input.deadline.getTime() - now) / (sources.length - index);
    summaries.push(await runSync(deps, source, { ...input, deadline: new Date(now + Math.max(0, share)) }));
  }
  return summaries;
}

/** The first failure of a scheduled run, to fail the invocation with (the summaries are logged first). */
export function firstFailure(summaries: readonly SyncSummary[]): unknown {
  return summaries.find((summary) => summary.stop === "error")?.error;
}
