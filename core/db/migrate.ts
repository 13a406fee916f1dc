import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The part of a pg-compatible pool (Neon's Pool, pg's Pool) the runner needs. */
export interface MigrationSession {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  release(): void;
}
export interface MigrationPool {
  connect(): Promise<MigrationSession>;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly alreadyApplied: number;
}

export const migrationsDir = fileURLToPath(new URL("./migrations", import.meta.url));

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
// Any stable 64-bit number; only migration runners take this lock.
const LOCK_ID = 7_301_551_204_219;

export async function loadMigrations(dir: string = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith(".sql")).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (!match?.[1] || !match[2]) throw new Error(`migration file name must look like 0001_name.sql: ${file}`);
    const sql = await readFile(join(dir, file), "utf8");
    migrations.push({
      version: Number(match[1]),
      name: match[2],
      sql,
      checksum: createHash("sha256").update(sql).digest("hex"),
    });
  }
  const versions = new Set(migrations.map((m) => m.version));
  if (versions.size !== migrations.length) throw new Error("two migration files share a version number");
  return migrations;
}

/**
 * Applies pending migrations in order, each in its own transaction together with its ledger row.
 * An advisory lock serialises concurrent runners (parallel deploys, several test workers), and a
 * checksum mismatch on an applied file stops everything: history must not be edited.
 */
export async function migrate(pool: MigrationPool, migrations: readonly Migration[]): Promise<MigrationReport> {
  const session = await pool.connect();
  try {
    await session.query("SELECT pg_advisory_lock($1)", [LOCK_ID]);
    try {
      await session.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await session.query("SELECT version, name, checksum FROM schema_migrations");
      const ledger = new Map(rows.map((row) => [Number(row.version), row]));
      const applied: string[] = [];
      for (const migration of migrations) {
        const label = `${String(migration.version).padStart(4, "0")}_${migration.name}`;
        const recorded = ledger.get(migration.version);
        if (recorded) {
          if (recorded.checksum !== migration.checksum) {
            throw new Error(`migration ${label} was changed after it was applied (checksum mismatch)`);
          }
          continue;
        }
        await session.query("BEGIN");
        try {
          await session.query(migration.sql);
          await session.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
            migration.version,
            migration.name,
            migration.checksum,
          ]);
          await session.query("COMMIT");
        } catch (error) {
          await session.query("ROLLBACK");
          throw new Error(`migration ${label} failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(label);
      }
      return { applied, alreadyApplied: ledger.size };
    } finally {
      await session.query("SELECT pg_advisory_unlock($1)", [LOCK_ID]);
    }
  } finally {
    session.release();
  }
}
