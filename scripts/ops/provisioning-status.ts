import { postgresConfigSchema, sqsConfigSchema } from "../../core/config";
import { provisioningStatus } from "../../core/provisioning/status";
import type { ProvisioningStatusReport } from "../../core/provisioning/status";
import { platform } from "../../runtime/platform";
import { provisioningStore } from "../../runtime/provisioning";
import { redriveDeps } from "../../runtime/provisioning-queue";
import { EXIT_OK, defineCommand, positiveInt } from "./command";

const statusOptions = { "stale-minutes": { type: "string" } } as const;

export const provisioningStatusCommand = defineCommand({
  name: "provisioning-status",
  usage: `provisioning-status [--stale-minutes <n>]
Provisioning records by state (pending, done, failed as poison / exhausted), messages waiting in
the queue and parked in the DLQ, and the latest failures. Pending records older than
--stale-minutes (default 10) are counted apart.`,
  options: statusOptions,
  async run({ options, say, requireConfig }) {
    requireConfig([postgresConfigSchema, sqsConfigSchema]);
    const staleMinutes = options["stale-minutes"] === undefined ? 10 : positiveInt("--stale-minutes", options["stale-minutes"]);
    const report = await provisioningStatus(
      { store: provisioningStore(), gauges: redriveDeps().dlq, clock: platform().clock },
      { staleMinutes, failuresShown: 10 },
    );
    for (const line of formatStatus(report, staleMinutes)) say(line);
    return EXIT_OK;
  },
});

export function formatStatus(report: ProvisioningStatusReport, staleMinutes: number): string[] {
  const { records, queue, dlq } = report;
  return [
    `Records   pending ${records.pending} (older than ${staleMinutes} min: ${records.stalePending})   done ${records.done}   failed ${records.failed.poison + records.failed.exhausted} (poison ${records.failed.poison}, exhausted ${records.failed.exhausted})`,
    `Queue     waiting ${queue.visible}   in flight ${queue.inFlight}`,
    `DLQ       parked ${dlq.visible + dlq.inFlight}${dlq.visible + dlq.inFlight > 0 ? "   (npm run ops -- redrive-dlq moves them back)" : ""}`,
    ...(report.recentFailures.length > 0
      ? ["Latest failures:", ...report.recentFailures.map((record) => `  ${record.id}  ${record.failureKind ?? "?"}  ${record.updatedAt.toISOString()}  ${record.error ?? ""}`)]
      : []),
  ];
}
