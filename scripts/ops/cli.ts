import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type * as z from "zod/mini";
import { parseConfig } from "../../core/config";
import { AppError, ConfigError, errorMessage } from "../../core/errors";
import type { Lazy } from "../../core/validation/lazy";
import { useConfigSource } from "../../runtime/config";
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, UsageError } from "./command";
import type { OpsCommand, OpsContext, OpsIo } from "./command";
import { resolveEnv } from "./env-file";
import { importMappingsCommand } from "./import-mappings";
import { migrateCommand } from "./migrate";
import { migrateCredentialsCommand } from "./migrate-credentials";
import { migrateKeysCommand } from "./migrate-keys";
import { provisioningStatusCommand } from "./provisioning-status";
import { redriveDlqCommand } from "./redrive-dlq";
import { rotateCredentialsCommand } from "./rotate-credentials";
import { exportSettingsCommand, importSettingsCommand } from "./settings-backup";
import { syncIdentifiersCommand, syncSettingsCommand } from "./sync";
import { syncPositionsCommand } from "./sync-positions";
import { telegramCommand } from "./telegram";
import { tokenCommand } from "./token";

/** Every command, in the order `help` lists them. */
const COMMANDS: readonly OpsCommand[] = [
  exportSettingsCommand,
  importMappingsCommand,
  importSettingsCommand,
  migrateCommand,
  migrateCredentialsCommand,
  migrateKeysCommand,
  provisioningStatusCommand,
  redriveDlqCommand,
  rotateCredentialsCommand,
  syncIdentifiersCommand,
  syncPositionsCommand,
  syncSettingsCommand,
  telegramCommand,
  tokenCommand,
] as readonly OpsCommand[];

export function usage(): string {
  return `Usage: npm run ops -- <command> [options]

Commands:
${COMMANDS.map((command) => indent(command.usage)).join("\n")}
  help
      Show this text.

Options for every command:
  --dotenv <path>     Where missing settings are read from (default: .env.local, written by npm start).

Settings come from the environment; names it leaves unset are taken from the env file.
Exit codes: 0 done, 1 failed, 2 usage error.`;
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((line, index) => (index === 0 ? `  ${line}` : `      ${line}`))
    .join("\n");

/** Runs one command; resolves to the exit code. Never throws. */
export async function runOps(argv: readonly string[], io: OpsIo): Promise<number> {
  const [name, ...rest] = argv;
  const say = (line = "") => io.stdout.write(`${line}\n`);
  const warn = (line: string) => io.stderr.write(`${line}\n`);
  try {
    if (name === "help" || name === "--help" || name === "-h") {
      say(usage());
      return EXIT_OK;
    }
    if (name === undefined) throw new UsageError("no command given");
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (!command) throw new UsageError(`unknown command '${name}'`);
    return await command.run(contextFor(command, rest, io, say, warn));
  } catch (error) {
    if (error instanceof UsageError) {
      warn(`ops: ${error.message}\n\n${usage()}`);
      return EXIT_USAGE;
    }
    warn(`ops: ${describe(error)}`);
    return EXIT_ERROR;
  }
}

function contextFor(command: OpsCommand, args: readonly string[], io: OpsIo, say: (line?: string) => void, warn: (line: string) => void): OpsContext<OpsCommand["options"]> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { dotenv: { type: "string" }, ...command.options },
      strict: true,
      allowPositionals: command.positionals ?? false,
    });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const envFile = resolve(io.cwd, typeof parsed.values.dotenv === "string" ? parsed.values.dotenv : ".env.local");
  const { values, fromFile } = resolveEnv(io.env, envFile);
  useConfigSource(values);
  return {
    options: parsed.values as OpsContext<OpsCommand["options"]>["options"],
    positionals: parsed.positionals,
    io,
    say,
    warn,
    requireConfig: (lazySchemas: readonly Lazy<z.ZodMiniObject>[]) => {
      const schemas = lazySchemas.map((schema) => schema());
      const problems = schemas.flatMap((schema) => configProblems(schema, values));
      if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
      const used = fromFile.filter((name) => schemas.some((schema) => name in schema.shape));
      if (used.length > 0) warn(`settings from ${envFile}: ${used.join(", ")}`);
    },
  };
}

function configProblems(schema: z.ZodMiniObject, values: Readonly<Record<string, string | undefined>>): string[] {
  try {
    parseConfig(schema, values);
    return [];
  } catch (error) {
    return errorMessage(error).replace(/^Invalid configuration: /, "").split("; ");
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // UnavailableError & co. keep details in their cause; an operator needs them.
  const cause = error.cause instanceof Error && error instanceof AppError ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}
