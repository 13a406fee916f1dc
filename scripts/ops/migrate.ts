import { postgresConfigSchema } from "../../core/config";
import { loadMigrations, migrate } from "../../core/db/migrate";
import { openPool } from "../../runtime/clients/postgres";
import { EXIT_OK, defineCommand } from "./command";

export const migrateCommand = defineCommand({
  name: "migrate",
  usage: "migrate\nApply pending database migrations to DATABASE_URL.",
  options: {},
  async run({ say, requireConfig }) {
    requireConfig([postgresConfigSchema]);
    const pool = openPool(1);
    try {
      const report = await migrate(pool, await loadMigrations());
      if (report.applied.length === 0) say(`Nothing to apply: ${report.alreadyApplied} migration(s) already applied.`);
      else say(`Applied ${report.applied.length} migration(s): ${report.applied.join(", ")} (${report.alreadyApplied} were already applied).`);
      return EXIT_OK;
    } finally {
      await pool.end();
    }
  },
});
