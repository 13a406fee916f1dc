import { redisConfigSchema } from "../../core/config";
import { legacyKeyForms } from "../../core/redis/keys";
import type { LegacyKeyForm } from "../../core/redis/keys";
import { countLegacyKeys, migrateKeys, totalOf } from "../../core/positions/migrate-keys";
import type { MigrateKeysSummary } from "../../core/positions/migrate-keys";
import { migrateKeysDeps } from "../../runtime/positions";
import { formatTable } from "../text-table";
import { EXIT_ERROR, EXIT_OK, UsageError, defineCommand, positiveInt } from "./command";
import { progressBars } from "./progress";

const DEFAULT_PAGE_SIZE = 1000;
const LISTED = 50;

/** How each form reads in the summary (old layout -> new). */
export const FORM_LABELS: Readonly<Record<LegacyKeyForm, string>> = {
  position_symbol: "position:{user}:{symbol}",
  user_position: "user:{user}:position:{symbol}:{side}",
  position_exchange: "position:{user}:{exchange}:{symbol}:{side}",
  grid_array: "{exchange}:positions:{user}",
  order_placed: "{exchange}:user:{user}:symbol:{symbol}:*",
};

const migrateKeysOptions = {
  apply: { type: "boolean", default: false },
  verify: { type: "boolean", default: false },
  restart: { type: "boolean", default: false },
  overwrite: { type: "boolean", default: false },
  pages: { type: "string" },
  "page-size": { type: "string" },
  "show-all": { type: "boolean", default: false },
} as const;

export const migrateKeysCommand = defineCommand({
  name: "migrate-keys",
  usage: `migrate-keys [--apply] [--overwrite] [--verify] [--restart] [--pages <n>] [--page-size <n>] [--show-all]
Move the legacy position and order keys into the key standard (README: Positions, old -> new).
Without --apply: a dry run that writes nothing and counts exactly what would move, per form.
--apply moves each key atomically (a bot writing the old key meanwhile loses nothing) and saves the
SCAN cursor after every page: a cut run resumes where it stopped (--restart starts over); --pages
stops after n pages. A second run moves 0. Keys that cannot move (no side, not an app user id,
standard key already there) are reported and left in place; --overwrite lets the old value replace
an existing standard key (id and opened_at kept), for runs repeated while bots still write old
keys. --verify only counts the legacy keys
left and exits 1 while any remains.`,
  options: migrateKeysOptions,
  async run({ options, io, say, warn, requireConfig }) {
    const pageSize = options["page-size"] === undefined ? DEFAULT_PAGE_SIZE : positiveInt("--page-size", options["page-size"]);
    if (options.verify && options.apply) throw new UsageError("--verify only counts; run it after --apply");
    requireConfig([redisConfigSchema]);
    const deps = migrateKeysDeps();
    if (options.verify) {
      const left = await countLegacyKeys(deps, pageSize);
      const total = Object.values(left).reduce((sum, n) => sum + n, 0);
      for (const line of formatTable(["legacy form", "keys left"], legacyKeyForms.map((form) => [FORM_LABELS[form], String(left[form])]))) say(line);
      say(total === 0 ? "Verify: no legacy key remains." : `Verify: ${total} legacy key(s) remain.`);
      return total === 0 ? EXIT_OK : EXIT_ERROR;
    }
    const progress = progressBars(io.stderr, { scan: options.apply ? "migrating" : "dry run" });
    let summary: MigrateKeysSummary;
    try {
      summary = await migrateKeys(deps, {
        apply: options.apply === true,
        pageSize,
        maxPages: options.pages === undefined ? undefined : positiveInt("--pages", options.pages),
        restart: options.restart === true,
        overwrite: options.overwrite === true,
        signal: io.signal,
        onProgress: ({ scanned }) => progress.update({ phase: "scan", done: scanned, total: null }),
      });
    } finally {
      progress.stop();
    }
    for (const line of formatMigration(summary, options["show-all"] === true)) say(line);
    if (summary.stop === "aborted") warn("ops: migrate-keys interrupted; run it again to resume from the saved cursor");
    return totalOf(summary.counts, "failed") > 0 ? EXIT_ERROR : EXIT_OK;
  },
});

export function formatMigration(summary: MigrateKeysSummary, showAll: boolean): string[] {
  const verb = summary.apply ? "moved" : "would move";
  const rows = legacyKeyForms.map((form) => {
    const c = summary.counts[form];
    return [FORM_LABELS[form], String(c.found), String(c.moved), String(c.positions), String(c.conflicts), String(c.invalid), String(c.failed)];
  });
  const listed = showAll ? summary.problems : summary.problems.slice(0, LISTED);
  const more = summary.problems.length - listed.length + summary.problemsLeftOut;
  return [
    summary.apply ? "migrate-keys --apply" : "migrate-keys (dry run: nothing written)",
    ...(summary.resumedFrom ? [`Resumed from the saved cursor ${summary.resumedFrom}.`] : []),
    ...formatTable(["legacy form", "found", verb, "positions", "conflicts", "invalid", "failed"], rows),
    `Scanned ${summary.scanned} key(s) in ${(summary.elapsedMs / 1000).toFixed(1)} s; ${verb} ${totalOf(summary.counts, "moved")} (${summary.keysPerSecond} keys/s).`,
    ...(summary.stop === "paused" ? ["Paused after --pages; run again to go on from the saved cursor."] : []),
    ...(listed.length > 0 ? ["Left in place or reported:", ...listed.map((p) => `  ${p.key}: ${p.reason}`)] : []),
    ...(more > 0 ? [`  ... and ${more} more (--show-all)`] : []),
  ];
}
