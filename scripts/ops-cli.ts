import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { ParseArgsConfig } from "node:util";
import { SingleBar } from "cli-progress";
import type { z } from "zod";
import { issueAccessToken, roles } from "../core/auth/tokens";
import type { Role } from "../core/auth/tokens";
import { randomIds, systemClock } from "../core/clock";
import { loadMigrations, migrate } from "../core/db/migrate";
import { createPool, createSql } from "../core/db/neon";
import { AppError } from "../core/errors";
import { importMappings, importOutcomes } from "../core/lookups/import";
import type { ImportPhase, ImportProgress, ImportRecord, ImportReport } from "../core/lookups/import";
import { fileRecords, importFileFormat, legacyRedisRecords } from "../core/lookups/import-sources";
import type { LookupCache } from "../core/lookups/ports";
import { PostgresMappingRepository } from "../core/lookups/postgres-mapping-repository";
import { UpstashLookupCache } from "../core/lookups/upstash-lookup-cache";
import { RedisKeys } from "../core/redis/keys";
import { createUpstashRedis } from "../core/redis/upstash";
import { checkSettings, databaseSettingsSchema, parseSettings, redisSettingsSchema, resolveEnv, tokenSettingsSchema } from "./ops-config";
import type { Env } from "./ops-config";

/** What the CLI touches of its process, so tests can run it in-process too. */
export interface OpsIo {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly env: Env;
  readonly cwd: string;
}

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

export const USAGE = `Usage: npm run ops -- <command> [options]

Commands:
  import-mappings --file <path.jsonl|path.csv> [--dry-run]
                  Import identifier mappings from a JSONL or CSV file (columns telegram_id, okx_uid,
                  user_id, is_active). Conflicts are reported, never overwritten; a re-run changes nothing.
  import-mappings --from-redis [--dry-run] [--scan-count <n>]
                  Import from the old registration hashes user:{okx_uid}:api:keys / :preferences
                  that carry telegram_id (SCAN, never KEYS).
  migrate         Apply pending database migrations to DATABASE_URL.
  token --role admin|service|user --subject <id> [--ttl <seconds>]
                  Print a signed access token (user tokens need a user id as subject). Default ttl 3600.
  help            Show this text.

Options for every command:
  --dotenv <path>     Where missing settings are read from (default: .env.local, written by npm start).

Import options:
  --dry-run           Read only: report what an import would do, write nothing (no database, no cache).
  --show-all          List every conflicting / invalid row (default: the first 50).

Settings come from the environment; names it leaves unset are taken from the env file.
Exit codes: 0 done, 1 failed, 2 usage error.`;

class UsageError extends Error {}

const COMMON = { dotenv: { type: "string" } } as const satisfies ParseArgsConfig["options"];
const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
const PROBLEMS_SHOWN = 50;

function parse<Options extends NonNullable<ParseArgsConfig["options"]>>(args: readonly string[], options: Options) {
  try {
    return parseArgs({ args: [...args], options: { ...COMMON, ...options }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** The settings of one command: environment first, then the env file; says which names came from the file. */
function settingsSource(io: OpsIo, envFile: string | undefined): { values: Env; note: (schemas: readonly z.ZodObject[]) => string } {
  const path = resolve(io.cwd, envFile ?? ".env.local");
  const { values, fromFile } = resolveEnv(io.env, path);
  return {
    values,
    note: (schemas) => {
      const used = fromFile.filter((name) => schemas.some((schema) => name in schema.shape));
      return used.length > 0 ? `settings from ${path}: ${used.join(", ")}` : "";
    },
  };
}

/** Runs one command; resolves to the exit code. Never throws. */
export async function runOps(argv: readonly string[], io: OpsIo): Promise<number> {
  const [command, ...rest] = argv;
  const say = (line = "") => io.stdout.write(`${line}\n`);
  const warn = (line: string) => io.stderr.write(`${line}\n`);
  try {
    switch (command) {
      case "help":
      case "--help":
      case "-h":
        say(USAGE);
        return EXIT_OK;
      case "import-mappings":
        return await importCommand(rest, io, say, warn);
      case "migrate":
        return await migrateCommand(rest, io, say, warn);
      case "token":
        return await tokenCommand(rest, io, say, warn);
      case undefined:
        throw new UsageError("no command given");
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      warn(`ops: ${error.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    warn(`ops: ${describe(error)}`);
    return EXIT_ERROR;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // UnavailableError & co. keep details in their cause; an operator needs them.
  const cause = error.cause instanceof Error && error instanceof AppError ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}

async function importCommand(args: readonly string[], io: OpsIo, say: (line?: string) => void, warn: (line: string) => void): Promise<number> {
  const options = parse(args, {
    file: { type: "string" },
    "from-redis": { type: "boolean", default: false },
    "dry-run": { type: "boolean", default: false },
    "scan-count": { type: "string" },
    "show-all": { type: "boolean", default: false },
  });
  const file = options.file;
  const fromRedis = options["from-redis"] === true;
  const dryRun = options["dry-run"] === true;
  if ((file === undefined) === !fromRedis) throw new UsageError("import-mappings needs exactly one of --file <path> or --from-redis");
  if (file !== undefined && importFileFormat(file) === null) throw new UsageError(`--file must end in .jsonl, .ndjson or .csv: ${file}`);
  if (options["scan-count"] !== undefined && !fromRedis) throw new UsageError("--scan-count applies to --from-redis only");
  const scanCount = options["scan-count"] === undefined ? undefined : positiveInt("--scan-count", options["scan-count"]);
  const path = file === undefined ? undefined : resolve(io.cwd, file);
  if (path !== undefined && (!existsSync(path) || !statSync(path).isFile())) throw new Error(`no such file: ${file}`);

  const { values, note } = settingsSource(io, options.dotenv);
  const needsRedis = fromRedis || !dryRun;
  checkSettings(needsRedis ? [databaseSettingsSchema, redisSettingsSchema] : [databaseSettingsSchema], values);
  const database = parseSettings(databaseSettingsSchema, values);
  const redisSettings = needsRedis ? parseSettings(redisSettingsSchema, values) : undefined;
  const used = note(needsRedis ? [databaseSettingsSchema, redisSettingsSchema] : [databaseSettingsSchema]);
  if (used) warn(used);

  const repository = new PostgresMappingRepository(
    createSql({ databaseUrl: database.DATABASE_URL, fetchEndpoint: database.NEON_FETCH_ENDPOINT, wsProxy: database.NEON_WS_PROXY }),
  );
  const redis = redisSettings
    ? createUpstashRedis({ url: redisSettings.UPSTASH_REDIS_REST_URL, token: redisSettings.UPSTASH_REDIS_REST_TOKEN, retries: redisSettings.REDIS_RETRIES })
    : undefined;
  const keys = new RedisKeys(redisSettings?.REDIS_KEY_PREFIX ?? "");
  const cache: LookupCache = redis ? new UpstashLookupCache(redis, keys) : unavailableCache;

  let records: AsyncIterable<ImportRecord>;
  let sourceName: string;
  if (path !== undefined && file !== undefined) {
    records = fileRecords(path);
    sourceName = file;
  } else if (redis) {
    records = legacyRedisRecords(redis, keys, { count: scanCount });
    sourceName = `Redis hashes ${keys.legacyRegistrationPatterns().join(", ")}`;
  } else {
    throw new Error("unreachable: no source");
  }

  const progress = progressBars(io.stderr);
  let report: ImportReport;
  try {
    report = await importMappings({ repository, cache, ids: randomIds }, { records, dryRun, onProgress: progress.update });
  } finally {
    progress.stop();
  }
  printReport(say, report, sourceName, options["show-all"] === true);
  if (report.cacheFailures.length > 0) {
    warn(`ops: ${report.cacheFailures.length} written mapping(s) could not be evicted from the lookup cache; they may be served stale until their TTL:`);
    for (const failure of report.cacheFailures) warn(`  ${failure.origin}  user ${failure.userId}: ${failure.reason}`);
    return EXIT_ERROR;
  }
  return EXIT_OK;
}

/** A dry run never touches the cache; a cache that says so if that ever changes. */
const unavailableCache: LookupCache = {
  getMany: () => Promise.reject(new Error("no cache configured")),
  setMany: () => Promise.reject(new Error("no cache configured")),
  invalidate: () => Promise.reject(new Error("no cache configured")),
  getOrLockFill: () => Promise.reject(new Error("no cache configured")),
  releaseFill: () => Promise.reject(new Error("no cache configured")),
};

const OUTCOME_LABELS: Record<(typeof importOutcomes)[number], string> = {
  inserted: "inserted",
  updated: "updated",
  unchanged: "unchanged",
  conflicting: "conflicting",
  invalid: "invalid",
};

export function formatReport(report: ImportReport, sourceName: string, showAll: boolean): string[] {
  const lines: string[] = [];
  lines.push(report.dryRun ? `DRY RUN: nothing was written; counts are what an import would do.` : "Import done.");
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
  return lines;
}

function printReport(say: (line?: string) => void, report: ImportReport, sourceName: string, showAll: boolean): void {
  for (const line of formatReport(report, sourceName, showAll)) say(line);
}

const PHASE_LABELS: Record<ImportPhase, string> = { read: "reading ", plan: "checking", write: "writing " };

/** One cli-progress bar per phase on stderr; nothing at all when stderr is not a terminal. */
function progressBars(stream: OpsIo["stderr"]): { update: (progress: ImportProgress) => void; stop: () => void } {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  let bar: SingleBar | undefined;
  let phase: ImportPhase | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    update: (progress) => {
      if (progress.phase !== phase) {
        stop();
        phase = progress.phase;
        const label = PHASE_LABELS[progress.phase];
        bar = new SingleBar({
          stream,
          format: progress.total === null ? `${label} {value} records` : `${label} [{bar}] {value}/{total} {percentage}% | {duration_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
          fps: 10,
        });
        bar.start(progress.total ?? 0, progress.done);
      }
      if (progress.total !== null && bar && bar.getTotal() !== progress.total) bar.setTotal(progress.total);
      bar?.update(progress.done);
    },
    stop,
  };
}

async function migrateCommand(args: readonly string[], io: OpsIo, say: (line?: string) => void, warn: (line: string) => void): Promise<number> {
  const options = parse(args, {});
  const { values, note } = settingsSource(io, options.dotenv);
  const database = parseSettings(databaseSettingsSchema, values);
  const used = note([databaseSettingsSchema]);
  if (used) warn(used);
  const pool = createPool({ databaseUrl: database.DATABASE_URL, fetchEndpoint: database.NEON_FETCH_ENDPOINT, wsProxy: database.NEON_WS_PROXY }, 1);
  try {
    const report = await migrate(pool, await loadMigrations());
    if (report.applied.length === 0) say(`Nothing to apply: ${report.alreadyApplied} migration(s) already applied.`);
    else say(`Applied ${report.applied.length} migration(s): ${report.applied.join(", ")} (${report.alreadyApplied} were already applied).`);
    return EXIT_OK;
  } finally {
    await pool.end();
  }
}

async function tokenCommand(args: readonly string[], io: OpsIo, say: (line?: string) => void, warn: (line: string) => void): Promise<number> {
  const options = parse(args, { role: { type: "string" }, subject: { type: "string" }, ttl: { type: "string" } });
  const role = options.role;
  if (role === undefined || !(roles as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${roles.join(", ")}`);
  const subject = options.subject?.trim();
  if (!subject) throw new UsageError("--subject is required");
  if (role === "user" && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(subject)) {
    throw new UsageError("a user token's --subject must be the app user id (a UUID)");
  }
  const ttlSeconds = options.ttl === undefined ? 3600 : positiveInt("--ttl", options.ttl);
  if (ttlSeconds > MAX_TOKEN_TTL_SECONDS) throw new UsageError(`--ttl must be at most ${MAX_TOKEN_TTL_SECONDS} seconds (30 days)`);

  const { values, note } = settingsSource(io, options.dotenv);
  const settings = parseSettings(tokenSettingsSchema, values);
  const used = note([tokenSettingsSchema]);
  if (used) warn(used);
  const now = systemClock.now();
  const token = await issueAccessToken(
    { secret: settings.JWT_SECRET, issuer: settings.JWT_ISSUER },
    { role: role as Role, subject: role === "user" ? subject.toLowerCase() : subject, ttlSeconds },
    now,
  );
  say(token);
  warn(`${role} token for ${subject}, expires ${new Date(now.getTime() + ttlSeconds * 1000).toISOString()}`);
  return EXIT_OK;
}

function positiveInt(name: string, raw: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(raw.trim())) throw new UsageError(`${name} must be a positive integer`);
  return Number(raw.trim());
}
