import type { ParseArgsConfig } from "node:util";
import type * as z from "zod/mini";
import type { Env } from "./env-file";
import type { Lazy } from "../../core/validation/lazy";

/** What the CLI touches of its process, so tests can run it in-process too. */
export interface OpsIo {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly env: Env;
  readonly cwd: string;
  /** Ctrl-C: long commands stop after the current step and print what they did. */
  readonly signal?: AbortSignal;
}

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** A mistake in the command line: exit code 2 with the usage text. */
export class UsageError extends Error {}

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;
type OptionValue<O> = O extends { type: "boolean"; multiple: true }
  ? boolean[]
  : O extends { type: "boolean" }
    ? boolean
    : O extends { multiple: true }
      ? string[]
      : string;
export type OptionValues<Options extends OptionsConfig> = {
  readonly [K in keyof Options]?: OptionValue<Options[K]>;
};

export interface OpsContext<Options extends OptionsConfig> {
  readonly options: OptionValues<Options>;
  readonly positionals: readonly string[];
  readonly io: OpsIo;
  say(line?: string): void;
  warn(line: string): void;
  /**
   * Checks every config schema the command needs (one error naming each problem) and points the
   * runtime's wiring at these settings; the command then takes its dependencies from runtime/.
   */
  requireConfig(schemas: readonly Lazy<z.ZodMiniObject>[]): void;
}

/** One `npm run ops -- <name>` command (scripts/ops/<name>.ts); the CLI only dispatches. */
export interface OpsCommand<Options extends OptionsConfig = OptionsConfig> {
  readonly name: string;
  /** Lines of the help text: the synopsis first, then what it does. */
  readonly usage: string;
  readonly options: Options;
  readonly positionals?: boolean;
  run(context: OpsContext<Options>): Promise<number>;
}

export function defineCommand<const Options extends OptionsConfig>(command: OpsCommand<Options>): OpsCommand<Options> {
  return command;
}

export function positiveInt(name: string, raw: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(raw.trim())) throw new UsageError(`${name} must be a positive integer`);
  return Number(raw.trim());
}
