import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { postgresConfigSchema, redisConfigSchema } from "../../core/config";
import { importMappings, importOutcomes } from "../../core/lookups/import";
import type { ImportRecord, ImportReport } from "../../core/lookups/import";
import { fileRecords, importFileFormat, legacyRedisRecords } from "../../core/lookups/import-sources";
import { redisClient, redisKeys } from "../../runtime/clients/redis";
import { mappingImportDeps } from "../../runtime/lookups";
import { EXIT_ERROR, EXIT_OK, UsageError, defineCommand, positiveInt } from "./command";
import type { OpsContext } from "./command";
import { progressBars, progressLines } from "./progress";

const PROBLEMS_SHOWN = 50;

const importOptions = {
  file: { type: "string" },
  "from-redis": { type: "boolean", default: false },
  "dry-run": { type: "boolean", default: false },
  "scan-count": { type: "string" },
  "show-all": { type: "boolean", default: false },
  "batch-size": { type: "string" },
  "progress-every": { type: "string" },
} as const;

export const importMappingsCommand = defineCommand({
  name: "import-mappings",
  usage: `import-mappings --file <path.jsonl|path.csv> [--dry-run] [--show-all]
Import identifier mappings from a JSONL or CSV file (columns telegram_id, okx_uid, user_id,
is_active). Conflicts are reported, never overwritten; a re-run changes nothing.
import-mappings --from-redis [--dry-run] [--scan-count <n>]
Import from the old registration hashes user:{okx_uid}:api:keys / :preferences that carry
telegram_id (SCAN, never KEYS). --dry-run writes nothing (no database, no cache);
--show-all lists every conflicting / invalid row (default: the first 50).
--batch-size <n> rows per round trip and per write transaction (default 1000);
--progress-every <s> seconds between progress lines when stderr is not a terminal (default 5).
Ctrl-C stops after the current batch and prints the report so far (exit 130).`,
  options: importOptions,
  run: importCommand,
});

async function importCommand({ options, io, say, warn, requireConfig }: OpsContext<typeof importOptions>): Promise<number> {
  const { file } = options;
  const fromRedis = options["from-redis"] === true;
  const dryRun = options["dry-run"] === true;
  if ((file === undefined) === !fromRedis) throw new UsageError("import-mappings needs exactly one of --file <path> or --from-redis");
  if (file !== undefined && importFileFormat(file) === null) throw new UsageError(`--file must end in .jsonl, .ndjson or .csv: ${file}`);
  if (options["scan-count"] !== undefined && !fromRedis) throw new UsageError("--scan-count applies to --from-redis only");
  const scanCount = options["scan-count"] === undefined ? undefined : positiveInt("--scan-count", options["scan-count"]);
  const path = file === undefined ? undefined : resolve(io.cwd, file);
  if (path !== undefined && (!existsSync(path) || !statSync(path).isFile())) throw new Error(`no such file: ${file}`);

  const needsRedis = fromRedis || !dryRun;
  requireConfig(needsRedis ? [postgresConfigSchema, redisConfigSchema] : [postgresConfigSchema]);
  const records: AsyncIterable<ImportRecord> =
    path !== undefined ? fileRecords(path) : legacyRedisRecords(redisClient(), redisKeys(), { count: scanCount });
  const sourceName = file ?? `Redis hashes ${redisKeys().legacyRegistrationPatterns().join(", ")}`;

  const batchSize = options["batch-size"] === undefined ? undefined : positiveInt("--batch-size", options["batch-size"]);
  const everyMs = options["progress-every"] === undefined ? 5_000 : positiveInt("--progress-every", options["progress-every"]) * 1_000;
  const progress = io.stderr.isTTY ? progressBars(io.stderr, PHASE_LABELS) : progressLines(io.stderr, PHASE_LABELS, everyMs);
  let report: ImportReport;
  try {
    report = await importMappings(mappingImportDeps({ withCache: !dryRun }), {
      records,
      dryRun,
      batchSize,
      onProgress: progress.update,
      shouldStop: () => io.signal?.aborted === true,
    });
  } finally {
    progress.stop();
  }
  for (const line of formatReport(report, sourceName, options["show-all"] === true)) say(line);
  if (report.cacheFailures.length > 0) {
    warn(`ops: ${report.cacheFailures.length + report.cacheFailuresOmitted} written mapping(s) could not be evicted from the lookup cache now; the outbox keeps their invalidations for the drain, and lookups do not trust those entries meanwhile:`);
    for (const failure of report.cacheFailures) warn(`  ${failure.origin}  user ${failure.userId}: ${failure.reason}`);
    if (report.cacheFailuresOmitted > 0) warn(`  … and ${report.cacheFailuresOmitted} more`);
    return EXIT_ERROR;
  }
  return report.interrupted ? EXIT_INTERRUPTED : EXIT_OK;
}

/** 128 + SIGINT, as a shell reports a command stopped by Ctrl-C. */
const EXIT_INTERRUPTED = 130;

const PHASE_LABELS = { read: "reading ", plan: "checking", write: "writing " };

const OUTCOME_LABELS: Record<(typeof importOutcomes)[number], string> = {
  inserted: "inserted",
  updated: "updated",
  unchanged: "unchanged",
  conflicting: "conflicting",
  invalid: "invalid",
};

export function formatReport(report: ImportReport, sourceName: string, showAll: boolean): string[] {
  const lines: string[] = [];
  lines.push(...headline(report));
  lines.push(`source: ${sourceName}`);
  lines.push("");
  const rows: [string, string][] = [
    ...importOutcomes.map((outcome): [string, string] => [OUTCOME_LABELS[outcome], String(report.counts[outcome])]),
    ["total", String(report.records)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length), "outcome".length);
  const numbers = Math.max(...rows.map(([, value]) => value.length), "rows".length);
  const border = `+-${"-".repeat(width)}-+-${"-".repeat(numbers)}-+`;
  lines.push(border, `| ${"outcome".padEnd(width)} | ${"rows".padStart(numbers)} |`, border);
  for (const [label, value] of rows) {
    if (label === "total") lines.push(border);
    lines.push(`| ${label.padEnd(width)} | ${value.padStart(numbers)} |`);
  }
  lines.push(border);
  if (report.duplicates > 0) lines.push(`(${report.duplicates} repeated row(s) counted as unchanged)`);
  for (const kind of ["conflicting", "invalid"] as const) {
    const problems = report.problems.filter((problem) => problem.kind === kind);
    if (problems.length === 0) continue;
    lines.push("", `${kind === "conflicting" ? "Conflicts (not written)" : "Invalid rows (skipped)"}: ${problems.length}`);
    const shown = showAll ? problems : problems.slice(0, PROBLEMS_SHOWN);
    for (const problem of shown) lines.push(`  ${problem.origin}  ${problem.reason}`);
    if (shown.length < problems.length) lines.push(`  … and ${problems.length - shown.length} more (--show-all lists them)`);
  }
  if (report.problemsOmitted > 0) lines.push("", `(${report.problemsOmitted} more conflicting / invalid row(s) counted above but not listed)`);
  return lines;
}


function headline(report: ImportReport): string[] {
  const { interrupted } = report;
  if (!interrupted) return [report.dryRun ? "DRY RUN: nothing was written; counts are what an import would do." : "Import done."];
  if (interrupted.phase !== "write") {
    return [`INTERRUPTED while ${interrupted.phase === "read" ? "reading" : "checking"}: nothing was written; counts cover the ${report.records} record(s) read so far.`];
  }
  return [`INTERRUPTED: stopped after a whole batch; ${interrupted.notWritten} planned write(s) not made (a re-run makes them). Report so far:`];
}
