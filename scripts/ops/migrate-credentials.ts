import { credentialsConfigSchema, postgresConfigSchema, redisConfigSchema } from "../../core/config";
import { legacyOutcomes, migrateLegacyCredentials } from "../../core/credentials/migrate-legacy";
import type { MigrationReport } from "../../core/credentials/migrate-legacy";
import { migrateLegacyDeps } from "../../runtime/credentials";
import { EXIT_ERROR, EXIT_OK, UsageError, defineCommand, positiveInt } from "./command";
import { progressBars } from "./progress";

const PROBLEMS_SHOWN = 20;

const migrateOptions = {
  apply: { type: "boolean", default: false },
  "delete-plaintext": { type: "boolean", default: false },
  restart: { type: "boolean", default: false },
  "scan-count": { type: "string" },
  "max-pages": { type: "string" },
} as const;

export const migrateCredentialsCommand = defineCommand({
  name: "migrate-credentials",
  usage: `migrate-credentials [--apply] [--delete-plaintext] [--restart] [--scan-count <n>] [--max-pages <n>]
Move the legacy plaintext API-key hashes user:{okx_uid}:api:keys into exchange_credentials, sealed
with the current key. A dry run by default: exact counts of what --apply would do, nothing written.
--apply copies (a run that stops resumes from its saved SCAN cursor; --restart starts over);
--delete-plaintext removes a hash's secret fields once its copy was read back and matched (and only
if the hash still holds the copied values). --max-pages stops after n SCAN pages (resumable).`,
  options: migrateOptions,
  async run({ options, io, say, requireConfig }) {
    const apply = options.apply === true;
    const deletePlaintext = options["delete-plaintext"] === true;
    if (options.restart === true && !apply) throw new UsageError("--restart needs --apply (a dry run always starts from the beginning)");
    const scanCount = options["scan-count"] === undefined ? 500 : positiveInt("--scan-count", options["scan-count"]);
    const maxPages = options["max-pages"] === undefined ? undefined : positiveInt("--max-pages", options["max-pages"]);
    requireConfig([redisConfigSchema, postgresConfigSchema, credentialsConfigSchema]);
    const progress = progressBars(io.stderr, { scan: apply ? "migrating " : "inspecting" });
    let report: MigrationReport;
    try {
      report = await migrateLegacyCredentials(migrateLegacyDeps(), {
        apply,
        deletePlaintext,
        scanCount,
        restart: options.restart === true,
        maxPages,
        signal: io.signal,
        onProgress: (current) => progress.update({ phase: "scan", done: current.scanned, total: null }),
      });
    } finally {
      progress.stop();
    }
    for (const line of formatMigration(report)) say(line);
    return report.counts.failed > 0 ? EXIT_ERROR : EXIT_OK;
  },
});

export function formatMigration(report: MigrationReport): string[] {
  const verb = report.apply ? "" : "would be ";
  const lines = [
    report.apply ? "Migrated legacy credentials." : "Dry run: nothing written. With --apply:",
    ...(report.resumedFrom ? [`Resumed from saved cursor ${report.resumedFrom}.`] : []),
    `Hashes scanned: ${report.scanned}`,
    ...legacyOutcomes.map((outcome) => `  ${outcome.replaceAll("_", " ")}: ${report.counts[outcome]}`),
  ];
  if (report.deletePlaintext) {
    lines.push(`Plaintext ${verb}deleted: ${report.plaintextDeleted}`);
    if (report.apply) lines.push(`Plaintext kept (the hash changed after the copy): ${report.plaintextChanged}`);
  }
  lines.push(report.complete ? "Scan complete." : "Stopped before the end: run the same command again to resume.");
  const shown = report.problems.slice(0, PROBLEMS_SHOWN);
  if (shown.length > 0) lines.push("Problems:", ...shown.map((problem) => `  ${problem.key}: ${problem.outcome}: ${problem.reason}`));
  if (report.problems.length > shown.length) lines.push(`  ... and ${report.problems.length - shown.length} more`);
  return lines;
}
