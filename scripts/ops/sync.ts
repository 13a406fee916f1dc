import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { postgresConfigSchema, redisConfigSchema, syncConfigSchema } from "../../core/config";
import { okxUidProblem } from "../../core/lookups/identifier";
import { syncCountNames } from "../../core/sync/model";
import type { SyncSummary } from "../../core/sync/model";
import type { SyncSource } from "../../core/sync/ports";
import { runSync } from "../../core/sync/run-sync";
import { syncConfig, syncDeps, syncSources } from "../../runtime/sync";
import { EXIT_ERROR, EXIT_OK, UsageError, defineCommand } from "./command";
import type { OpsCommand, OpsContext } from "./command";
import { progressBars } from "./progress";

const LISTED = 50;
/** An operator's run waits this long for a scheduled run holding the lock to finish. */
const LOCK_WAIT_MS = 60_000;
const LOCK_POLL_MS = 1_000;

const syncOptions = {
  "dry-run": { type: "boolean", default: false },
  "okx-uid": { type: "string" },
  full: { type: "boolean", default: false },
  "show-all": { type: "boolean", default: false },
} as const;

/**
 * `sync-<source>`: one source of the scheduled sync run by hand, without a time budget, to the end
 * of its keys (or of one user's). Every source registered in runtime/sync.ts gets its command
 * through this one function.
 */
export function syncCommand(source: string, what: string, factory?: () => SyncSource): OpsCommand<typeof syncOptions> {
  return defineCommand({
    name: `sync-${source}`,
    usage: `sync-${source} [--dry-run] [--okx-uid <uid>] [--full] [--show-all]
Copy ${what} that bots wrote only to Redis into Postgres, as the scheduled sync does (same rules,
same lock). --dry-run writes nothing and prints exact counts of what a run would write; --okx-uid
only that user's keys; --full starts from the first key instead of the saved cursor. Exit 1 only
when something failed (invalid values and conflicts are reported, not failures).`,
    options: syncOptions,
    run: (context) => runSyncCommand(source, context, factory),
  });
}

async function runSyncCommand(name: string, { options, io, say, warn, requireConfig }: OpsContext<typeof syncOptions>, own?: () => SyncSource): Promise<number> {
  const okxUid = options["okx-uid"]?.trim();
  if (okxUid !== undefined) {
    const problem = okxUidProblem(okxUid);
    if (problem) throw new UsageError(`--okx-uid ${problem}`);
  }
  requireConfig([postgresConfigSchema, redisConfigSchema, syncConfigSchema]);
  // A source with a cron of its own (positions: the shared cron's bundle has no room) brings its factory.
  const factory = own ?? syncSources[name];
  if (!factory) throw new Error(`no sync source '${name}' is wired in runtime/sync.ts`);
  const source = factory();
  const progress = progressBars(io.stderr, { [name]: `sync ${name}` });
  let summary: SyncSummary;
  try {
    summary = await runWhenFree(source, {
      dryRun: options["dry-run"] === true,
      full: options.full === true,
      filter: { okxUid },
      onProgress: (update) => progress.update({ phase: name, done: update.counts.scanned, total: null }),
      signal: io.signal,
    });
  } finally {
    progress.stop();
  }
  for (const line of formatSyncSummary(summary, options["show-all"] === true)) say(line);
  if (summary.stop === "error") warn(`ops: sync ${name} stopped: ${summary.error instanceof Error ? summary.error.message : String(summary.error)}`);
  return summary.counts.failed > 0 || !["done", "budget"].includes(summary.stop) ? EXIT_ERROR : EXIT_OK;
}

/** Runs the source, waiting a while for the lock when a scheduled run holds it. */
async function runWhenFree(source: SyncSource, options: { dryRun: boolean; full: boolean; filter: { okxUid?: string | undefined }; onProgress: NonNullable<Parameters<typeof runSync>[2]["onProgress"]>; signal?: AbortSignal | undefined }): Promise<SyncSummary> {
  const deps = syncDeps();
  const config = syncConfig();
  const owner = `ops:${hostname()}:${process.pid}:${randomUUID()}`;
  const giveUpAt = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const summary = await runSync(deps, source, { ...options, owner, pageSize: config.SYNC_PAGE_SIZE, leaseMs: config.SYNC_LEASE_MS, maxListed: 10_000 });
    if (summary.stop !== "locked" || Date.now() >= giveUpAt || options.signal?.aborted) return summary;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/** The summary line, then the invalid values (key, path, reason), conflicts and failures. */
export function formatSyncSummary(summary: SyncSummary, showAll: boolean): string[] {
  const counts = syncCountNames.map((name) => `${name === "written" && summary.dryRun ? "would write" : name} ${summary.counts[name]}`).join(", ");
  const rate = `${Math.round(summary.rowsPerSecond)} rows/s`;
  const lag = summary.lagSeconds === null ? "" : `, lag ${Math.round(summary.lagSeconds)} s`;
  const lines = [
    `${summary.dryRun ? "DRY RUN (nothing written): " : ""}sync ${summary.source}: ${counts}, ${rate} (${stopText(summary)}, ${(summary.elapsedMs / 1000).toFixed(1)} s${lag})`,
  ];
  const section = (title: string, entries: readonly string[], total: number) => {
    if (total === 0) return;
    lines.push("", `${title}: ${total}`);
    const shown = showAll ? entries : entries.slice(0, LISTED);
    for (const entry of shown) lines.push(`  ${entry}`);
    if (total > shown.length) lines.push(`  … and ${total - shown.length} more${showAll ? "" : " (--show-all lists more)"}`);
  };
  section("Invalid values (not written)", summary.problems.map((p) => `${p.key}  ${p.path}: ${p.reason}`), summary.problems.length + summary.problemsLeftOut);
  section(summary.dryRun ? "Conflicts (Postgres would win)" : "Conflicts (Postgres won)", summary.conflicts.map((c) => `${c.key}  ${c.reason}`), summary.counts.conflicts);
  section("Failed", summary.failures.map((f) => `${f.key}  ${f.reason}`), summary.counts.failed);
  return lines;
}

function stopText(summary: SyncSummary): string {
  switch (summary.stop) {
    case "done":
      return summary.passCompleted ? "every key visited" : "done";
    case "budget":
      return "time budget used up; the next run resumes";
    case "locked":
      return "another run holds the lock";
    case "lost-lock":
      return "the lock was lost; stopped";
    case "aborted":
      return "interrupted";
    case "error":
      return "stopped by an error";
  }
}

export const syncSettingsCommand = syncCommand("settings", "settings (legacy user:{okx_uid}:preferences / :settings / :dual_side keys)");
export const syncIdentifiersCommand = syncCommand("identifiers", "identifier mappings (legacy user:{okx_uid}:api:keys / :preferences hashes with a telegram_id)");
