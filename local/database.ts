import { createPool } from "../core/db/neon";
import { loadMigrations, migrate } from "../core/db/migrate";
import type { MigrationReport } from "../core/db/migrate";
import type { LocalCloudEnv } from "./cloud";

/** Applies the migrations to one database through the Neon driver's Pool and the local relay. */
export async function migrateDatabase(env: LocalCloudEnv, databaseUrl: string): Promise<MigrationReport> {
  const pool = createPool({ databaseUrl, fetchEndpoint: env.NEON_FETCH_ENDPOINT, wsProxy: env.NEON_WS_PROXY }, 1);
  try {
    return await migrate(pool, await loadMigrations());
  } finally {
    await pool.end();
  }
}
