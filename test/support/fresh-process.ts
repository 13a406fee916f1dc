import { execFile } from "node:child_process";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

/**
 * Imports a bundle in a fresh Node process (a cold start), invokes its handler once with `event`,
 * and reports the result and the built-ins loaded by the import. The process gets PATH and `env`
 * only, as Lambda gives a function its own environment.
 */
export async function invokeFresh(outfile: string, env: Record<string, string>, event: unknown = {}): Promise<{ result: unknown; builtins: string[] }> {
  const script = [
    `const before = new Set(process.moduleLoadList);`,
    `const { handler } = await import(${JSON.stringify(pathToFileURL(outfile).href)});`,
    `const loaded = process.moduleLoadList.filter((name) => !before.has(name) && name.startsWith("NativeModule "));`,
    `const context = { getRemainingTimeInMillis: () => 10_000, awsRequestId: "fixture" };`,
    `const result = await handler(${JSON.stringify(event)}, context);`,
    `console.log(JSON.stringify({ result, builtins: loaded.map((name) => name.slice("NativeModule ".length)) }));`,
  ].join("\n");
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { env: { PATH: process.env.PATH ?? "", ...env } });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "null") as { result: unknown; builtins: string[] };
}
