import { credentialsConfigSchema, postgresConfigSchema } from "../../core/config";
import { rotateCredentials } from "../../core/credentials/rotate-credentials";
import type { RotationReport } from "../../core/credentials/rotate-credentials";
import { rotateCredentialsDeps } from "../../runtime/credentials";
import { EXIT_ERROR, EXIT_OK, defineCommand, positiveInt } from "./command";
import { progressBars } from "./progress";

const FAILURES_SHOWN = 20;

const rotateOptions = {
  "dry-run": { type: "boolean", default: false },
  batch: { type: "string" },
} as const;

export const rotateCredentialsCommand = defineCommand({
  name: "rotate-credentials",
  usage: `rotate-credentials [--dry-run] [--batch <n>]
Re-seal every exchange_credentials row not sealed with the current key (ENCRYPTION_KEY), --batch rows
per statement (default 200); the key that sealed it must be in ENCRYPTION_PREVIOUS_KEYS. Resumable:
run it again after a cut, done rows are not read twice. --dry-run opens every row and writes nothing.`,
  options: rotateOptions,
  async run({ options, io, say, requireConfig }) {
    const batch = options.batch === undefined ? 200 : positiveInt("--batch", options.batch);
    requireConfig([postgresConfigSchema, credentialsConfigSchema]);
    const progress = progressBars(io.stderr, { rotate: options["dry-run"] === true ? "checking  " : "re-sealing" });
    let report: RotationReport;
    try {
      report = await rotateCredentials(rotateCredentialsDeps(), {
        batch,
        dryRun: options["dry-run"] === true,
        signal: io.signal,
        onProgress: (current) => progress.update({ phase: "rotate", done: current.examined, total: current.total }),
      });
    } finally {
      progress.stop();
    }
    for (const line of formatRotation(report)) say(line);
    return report.failed.length > 0 ? EXIT_ERROR : EXIT_OK;
  },
});

export function formatRotation(report: RotationReport): string[] {
  const byKey = Object.entries(report.before).map(([keyId, n]) => `${keyId} ${n}`).join(", ") || "none";
  const failures = report.failed.slice(0, FAILURES_SHOWN);
  return [
    report.dryRun ? "Dry run: nothing written." : "Rotated exchange credentials.",
    `Current key: ${report.currentKeyId}; rows under other keys at the start: ${report.total} (${byKey})`,
    `Examined: ${report.examined}`,
    `${report.dryRun ? "Would re-seal" : "Re-sealed"}: ${report.resealed}`,
    ...(report.dryRun ? [] : [`Changed by a writer meanwhile (left as written): ${report.changedMeanwhile}`]),
    `Failed (do not open with the key ring): ${report.failed.length}`,
    ...failures.map((failure) => `  ${failure.userId} ${failure.exchange} (key ${failure.keyId}): ${failure.problem}`),
    ...(report.failed.length > failures.length ? [`  ... and ${report.failed.length - failures.length} more`] : []),
    report.complete ? "Done." : "Interrupted: run the same command again to continue.",
  ];
}
