import { createReadStream, createWriteStream, existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { once as onceEvent } from "node:events";
import { postgresConfigSchema, redisConfigSchema, settingsConfigSchema } from "../../core/config";
import { backupLine, exportSettings, importSettings } from "../../core/settings/backup";
import type { ImportReport } from "../../core/settings/backup";
import { okxUidProblem } from "../../core/lookups/identifier";
import { userDirectory } from "../../runtime/identity";
import { settings, settingsStore } from "../../runtime/settings";
import { EXIT_ERROR, EXIT_OK, UsageError, defineCommand } from "./command";
import { progressBars } from "./progress";

const PAGE_SIZE = 1_000;
const REJECTS_SHOWN = 50;

const exportOptions = {
  "okx-uid": { type: "string" },
  out: { type: "string" },
} as const;

export const exportSettingsCommand = defineCommand({
  name: "export-settings",
  usage: `export-settings [--okx-uid <uid>] [--out <path.jsonl>]
Write every user's current settings (each type with its version) as JSON lines, to stdout or
--out; --okx-uid exports one user. Credentials are never exported, not even encrypted.`,
  options: exportOptions,
  async run({ options, io, warn, requireConfig }) {
    const okxUid = options["okx-uid"] ?? null;
    if (okxUid !== null && okxUidProblem(okxUid) !== null) throw new UsageError(`--okx-uid: ${okxUidProblem(okxUid)}`);
    requireConfig([postgresConfigSchema]);
    const sink = options.out === undefined ? io.stdout : createWriteStream(resolve(io.cwd, options.out));
    let count = 0;
    for await (const row of exportSettings({ store: settingsStore() }, { okxUid, pageSize: PAGE_SIZE })) {
      if (!sink.write(`${backupLine(row)}\n`)) await onceEvent(sink, "drain");
      count += 1;
    }
    if (sink !== io.stdout) await new Promise<void>((done, fail) => (sink as NodeJS.WritableStream).end(() => done()).on("error", fail));
    warn(`Exported ${count} settings document(s)${okxUid ? ` of okx uid ${okxUid}` : ""}${options.out ? ` to ${options.out}` : ""}.`);
    return EXIT_OK;
  },
});

const importOptions = {
  "dry-run": { type: "boolean", default: false },
} as const;

export const importSettingsCommand = defineCommand({
  name: "import-settings",
  usage: `import-settings <path.jsonl> [--dry-run]
Restore settings from export-settings' JSON lines: each line is validated like an API write and
written as a new version (source restore; the fast copy refreshed). Rejected lines are listed by
number; the rest are imported. --dry-run validates every line and writes nothing. Exit 1 when a
line was rejected.`,
  options: importOptions,
  positionals: true,
  async run({ options, positionals, io, say, requireConfig }) {
    const [file, ...extra] = positionals;
    if (file === undefined || extra.length > 0) throw new UsageError("import-settings needs exactly one file");
    const path = resolve(io.cwd, file);
    if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`no such file: ${file}`);
    const dryRun = options["dry-run"] === true;
    requireConfig(dryRun ? [postgresConfigSchema] : [postgresConfigSchema, redisConfigSchema, settingsConfigSchema]);
    const progress = progressBars(io.stderr, { read: dryRun ? "checking" : "importing" });
    let report: ImportReport;
    try {
      const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
      report = await importSettings(
        { write: dryRun ? null : settings().write, directory: userDirectory() },
        { lines, dryRun, actor: "ops:import-settings", onLine: (line) => progress.update({ phase: "read", done: line, total: null }) },
      );
    } finally {
      progress.stop();
    }
    for (const line of formatImport(report, file)) say(line);
    return report.rejects.length > 0 ? EXIT_ERROR : EXIT_OK;
  },
});

export function formatImport(report: ImportReport, file: string): string[] {
  const shown = report.rejects.slice(0, REJECTS_SHOWN);
  return [
    report.dryRun
      ? `Dry run of ${file}: ${report.written} document(s) would be written as new versions; nothing changed.`
      : `Imported ${report.written} document(s) from ${file} as new versions (source restore).`,
    `Lines read: ${report.lines}; rejected: ${report.rejects.length}`,
    ...shown.map((reject) => `  line ${reject.line}: ${reject.reason}`),
    ...(report.rejects.length > shown.length ? [`  ... and ${report.rejects.length - shown.length} more`] : []),
  ];
}
