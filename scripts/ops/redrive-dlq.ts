import { postgresConfigSchema, sqsConfigSchema } from "../../core/config";
import { redriveDeadLetters } from "../../core/provisioning/redrive";
import type { RedriveReport } from "../../core/provisioning/redrive";
import { redriveDeps } from "../../runtime/provisioning-queue";
import { EXIT_OK, defineCommand, positiveInt } from "./command";
import { progressBars } from "./progress";

const DEFAULT_LIMIT = 10_000;
const IDS_SHOWN = 20;

const redriveOptions = {
  "dry-run": { type: "boolean", default: false },
  limit: { type: "string" },
} as const;

export const redriveDlqCommand = defineCommand({
  name: "redrive-dlq",
  usage: `redrive-dlq [--dry-run] [--limit <n>]
Move provisioning messages from the DLQ back to the provisioning queue (at most --limit, default
${DEFAULT_LIMIT}); their records, failed as exhausted, go back to pending. --dry-run counts and lists
what would move and changes nothing.`,
  options: redriveOptions,
  async run({ options, io, say, requireConfig }) {
    const dryRun = options["dry-run"] === true;
    const limit = options.limit === undefined ? DEFAULT_LIMIT : positiveInt("--limit", options.limit);
    requireConfig(dryRun ? [sqsConfigSchema] : [sqsConfigSchema, postgresConfigSchema]);
    const progress = progressBars(io.stderr, { redrive: dryRun ? "inspecting" : "redriving " });
    let report: RedriveReport;
    try {
      report = await redriveDeadLetters(redriveDeps(), {
        dryRun,
        limit,
        signal: io.signal,
        onProgress: ({ done, total }) => progress.update({ phase: "redrive", done, total }),
      });
    } finally {
      progress.stop();
    }
    for (const line of formatRedrive(report)) say(line);
    return EXIT_OK;
  },
});

export function formatRedrive(report: RedriveReport): string[] {
  const ids = report.provisioningIds.slice(0, IDS_SHOWN);
  const more = report.provisioningIds.length - ids.length;
  return [
    report.dryRun ? `Dry run: ${report.moved} message(s) would move back to the provisioning queue; nothing changed.` : `Moved ${report.moved} message(s) back to the provisioning queue.`,
    ...(report.dryRun ? [] : [`Records reopened (failed -> pending): ${report.reopened}`, `Not moved (left in the DLQ): ${report.notMoved}`]),
    `Left in the DLQ: ${report.remaining}`,
    ...(ids.length > 0 ? ["Provisioning ids:", ...ids.map((id) => `  ${id}`), ...(more > 0 ? [`  ... and ${more} more`] : [])] : []),
  ];
}
