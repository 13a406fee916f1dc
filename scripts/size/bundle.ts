import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import type { BuildOptions, Metafile, Plugin } from "esbuild";
import type { DeclaredFunction } from "../../local/sst-manifest";

/**
 * Bundles a function the way SST's Node builder (pkg/runtime/node/build.go; read at sst/sst
 * 08fa0a6, the newest source to hand, for the 4.17.1 package installed here; esbuild 0.27.2) does
 * for `sst deploy`: platform node, ESM with its createRequire banner, keepNames, the target
 * of the runtime, `module` before `main`, only sharp and pg-native external (the AWS SDK is
 * bundled), a linked source map only when `nodejs.sourcemap` is true (SST turns its linked map off
 * outside `sst dev` otherwise), minification only when `nodejs.minify` is true, and the esbuild
 * plugins of the file `nodejs.plugins` names (pkg/runtime/node/plugin.go; see sstPlugins). With
 * `nodejs.splitting`, as SST: esbuild splitting into the outfile's directory, `.mjs` files, the
 * entry named after the handler's file, each dynamically imported module a chunk of its own.
 */
const FORCE_EXTERNAL = ["sharp", "pg-native"];

const TARGET_OF_RUNTIME: Readonly<Record<string, string>> = {
  "nodejs24.x": "es2024",
  "nodejs22.x": "es2023",
  "nodejs20.x": "es2023",
  "nodejs18.x": "es2022",
};

const ESM_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
].join("\n");

/**
 * The packages a function may talk to the outside world with, each with the module and export that
 * is its client; the import baseline is made of them. grammY's `Api` is the Telegram Bot API's
 * client (the webhook's replies, the alerts); the rest of grammY (its bot and router) is not.
 */
export const CLIENT_PACKAGES = {
  "@upstash/redis": { module: "@upstash/redis", client: "Redis" },
  "@neondatabase/serverless": { module: "@neondatabase/serverless", client: "neon" },
  "@aws-sdk/client-sqs": { module: "@aws-sdk/client-sqs", client: "SQSClient" },
  grammy: { module: "grammy/web", client: "Api" },
} as const;
export type ClientPackage = keyof typeof CLIENT_PACKAGES;
export const ALL_CLIENTS = Object.keys(CLIENT_PACKAGES) as ClientPackage[];

export const SQS_CLIENT: ClientPackage = "@aws-sdk/client-sqs";
const KB = 1000;
/**
 * Minified bytes a function may weigh: the SQS client alone is about 440 KB; the Telegram webhook
 * runs grammY (about 100 KB, its web build) and @upstash/ratelimit (about 40 KB) on top of the
 * Redis and Postgres clients every API function carries.
 */
export const BUDGET_BYTES = { withoutSqs: 400 * KB, withSqs: 800 * KB, telegramWebhook: 600 * KB } as const;

export function sstBuildOptions(fn: DeclaredFunction, outfile: string): BuildOptions {
  const { nodejs, runtime } = fn;
  const esbuildOptions = nodejs.esbuild ?? {};
  const esm = nodejs.format !== "cjs";
  const install = Array.isArray(nodejs.install) ? nodejs.install : Object.keys(nodejs.install ?? {});
  const target = esbuildOptions.target ?? TARGET_OF_RUNTIME[runtime];
  if (!target) throw new Error(`${fn.trigger}: no esbuild target known for runtime ${runtime}`);
  return {
    entryPoints: [fn.handler.file],
    ...(nodejs.splitting === true ? { splitting: true, outdir: dirname(outfile), outExtension: { ".js": ".mjs" } } : { outfile }),
    bundle: true,
    write: true,
    metafile: true,
    logLevel: "error",
    platform: "node",
    format: esm ? "esm" : "cjs",
    target,
    keepNames: esbuildOptions.keepNames ?? true,
    // build.go sets SourceMapLinked, then SourceMapNone for a deploy when `sourcemap` is not true.
    sourcemap: nodejs.sourcemap === true ? "linked" : false,
    minify: nodejs.minify === true,
    external: [...FORCE_EXTERNAL, ...install, ...(esbuildOptions.external ?? [])],
    mainFields: [...(esbuildOptions.mainFields ?? (esm ? ["module", "main"] : ["main"]))],
    // Left unset, esbuild applies its default conditions, as SST's Go call does with nil.
    ...(esbuildOptions.conditions ? { conditions: [...esbuildOptions.conditions] } : {}),
    ...(esbuildOptions.define ? { define: { ...esbuildOptions.define } } : {}),
    banner: { js: esm ? [ESM_BANNER, nodejs.banner ?? ""].join("\n") : (nodejs.banner ?? "") },
  };
}

/**
 * The plugins of the file `nodejs.plugins` names (its default export), as SST's builder loads them:
 * the path is relative to the directory of sst.config.ts, which is where `npm run size` runs.
 */
export async function sstPlugins(fn: DeclaredFunction): Promise<Plugin[]> {
  if (!fn.nodejs.plugins) return [];
  const loaded = (await import(pathToFileURL(resolve(fn.nodejs.plugins)).href)) as { readonly default?: unknown };
  if (!Array.isArray(loaded.default)) throw new Error(`${fn.trigger}: ${fn.nodejs.plugins} has no default export of esbuild plugins`);
  return loaded.default as Plugin[];
}

/** Bytes an input package (or a folder of this repository) contributes to the bundle. */
export interface InputWeight {
  readonly name: string;
  readonly bytes: number;
}

/** A chunk that a dynamic `import()` loads: what it costs beyond what the entry already loaded. */
export interface LazyChunk {
  /** The chunk's file (ESM), to import after the entry. */
  readonly file: string;
  /** The module it was split from (e.g. `runtime/telegram/positions.ts`). */
  readonly entryPoint: string;
  /** Bytes of it and of the chunks it imports that the entry does not load. */
  readonly bytes: number;
}

export interface BundleReport {
  /** The file to import (ESM): the entry, which imports the chunks it needs. */
  readonly outfile: string;
  /** What a cold start imports: the entry and the chunks it imports statically. */
  readonly entryBytes: number;
  /** Every file (entry and chunks): what ships, and what the budget counts, so nothing hides in a chunk. */
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Chunks loaded on demand (a split bundle), heaviest first; empty for a single file. */
  readonly lazy: readonly LazyChunk[];
  /** Heaviest first, over every file. */
  readonly inputs: readonly InputWeight[];
  /** Every input file, for checks such as "no zod locale but en". */
  readonly inputFiles: readonly string[];
  /** The input files of what a cold start imports (the entry and its static chunks). */
  readonly entryInputFiles: readonly string[];
  /** Client packages of which the bundle carries any byte (a client, or only a module's residue of one). */
  readonly clients: readonly ClientPackage[];
}

/** `node_modules/@scope/name/...` -> `@scope/name`; a file of this repository -> its folder. */
function inputName(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (match?.[1]) return match[1];
  const parts = path.split("/");
  return parts.length > 2 ? `${parts.slice(0, 2).join("/")}/` : path;
}

type Output = Metafile["outputs"][string];
type Outputs = ReadonlyMap<string, Output>;

/** The JavaScript files esbuild wrote (no maps), by path relative to the working directory. */
function scriptOutputs(metafile: Metafile): Outputs {
  return new Map(Object.entries(metafile.outputs).filter(([path]) => !path.endsWith(".map")));
}

/** A file and every chunk it imports statically, transitively: what importing it loads. */
function staticClosure(outputs: Outputs, start: string): Set<string> {
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path) || !outputs.has(path)) return;
    seen.add(path);
    for (const imported of outputs.get(path)?.imports ?? []) if (imported.kind === "import-statement") visit(imported.path);
  };
  visit(start);
  return seen;
}

const bytesOf = (outputs: Outputs, paths: Iterable<string>): number => [...paths].reduce((sum, path) => sum + (outputs.get(path)?.bytes ?? 0), 0);

/** Each dynamically imported chunk with what it loads beyond `loaded` (the entry's closure), heaviest first. */
function lazyChunks(outputs: Outputs, loaded: ReadonlySet<string>): LazyChunk[] {
  const targets = new Set([...outputs.values()].flatMap((output) => output.imports.filter((imported) => imported.kind === "dynamic-import").map((imported) => imported.path)));
  return [...targets]
    .filter((path) => outputs.has(path) && !loaded.has(path))
    .map((path) => ({
      file: resolve(path),
      entryPoint: outputs.get(path)?.entryPoint ?? path,
      bytes: bytesOf(outputs, [...staticClosure(outputs, path)].filter((chunk) => !loaded.has(chunk))),
    }))
    .sort((a, b) => b.bytes - a.bytes);
}

/** The output of the function's own file: the one file of a plain bundle, the entry of a split one. */
function entryOutput(outputs: Outputs, entry: string): string {
  const path = [...outputs].find(([, output]) => output.entryPoint !== undefined && resolve(output.entryPoint) === resolve(entry))?.[0];
  if (!path) throw new Error(`esbuild wrote no output for ${entry}`);
  return path;
}

function inputWeights(outputs: Outputs): InputWeight[] {
  const weights = new Map<string, number>();
  for (const output of outputs.values()) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) weights.set(inputName(path), (weights.get(inputName(path)) ?? 0) + bytesInOutput);
  }
  return [...weights].map(([name, bytes]) => ({ name, bytes })).filter(({ bytes }) => bytes > 0).sort((a, b) => b.bytes - a.bytes);
}

/** The input files that put any byte into these outputs. */
function inputFilesOf(outputs: Outputs, paths: Iterable<string>): string[] {
  const files = [...paths].flatMap((path) => Object.entries(outputs.get(path)?.inputs ?? {}).filter(([, input]) => input.bytesInOutput > 0).map(([file]) => file));
  return [...new Set(files)];
}

function report(entry: string, metafile: Metafile | undefined): BundleReport {
  if (!metafile) throw new Error(`esbuild returned no metafile for ${entry}`);
  const outputs = scriptOutputs(metafile);
  const outfile = entryOutput(outputs, entry);
  const loaded = staticClosure(outputs, outfile);
  const files = [...outputs.keys()].map((path) => readFileSync(path));
  const inputs = inputWeights(outputs);
  return {
    outfile: resolve(outfile),
    entryBytes: bytesOf(outputs, loaded),
    bytes: bytesOf(outputs, outputs.keys()),
    gzipBytes: files.reduce((sum, contents) => sum + gzipSync(contents).length, 0),
    lazy: lazyChunks(outputs, loaded),
    inputs,
    inputFiles: inputFilesOf(outputs, outputs.keys()),
    entryInputFiles: inputFilesOf(outputs, loaded),
    clients: ALL_CLIENTS.filter((name) => inputs.some((input) => input.name === name)),
  };
}

/** A directory for bundles, removed by `dispose`. */
export function bundleDirectory(): { readonly path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), "botstate-bundles-"));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

/** Bundles one declared function into `directory` as SST would deploy it. */
export async function bundleFunction(fn: DeclaredFunction, directory: string, name = bundleName(fn)): Promise<BundleReport> {
  const outfile = join(directory, name, "bundle.mjs");
  const result = await build({ ...sstBuildOptions(fn, outfile), plugins: await sstPlugins(fn) });
  return report(fn.handler.file, result.metafile);
}

/**
 * A bundle of just these clients, built with the same options as `like` (the floor a handler's
 * import cost is compared with): each client's entry class or function, nothing of ours.
 */
export async function bundleClients(clients: readonly ClientPackage[], like: DeclaredFunction, directory: string): Promise<BundleReport> {
  const name = `clients-${clients.map((client) => client.replace(/\W+/g, "_")).join("-")}`;
  return bundleSource(name, clientsSource(clients), like, directory);
}

/** Module source that exports each client of `clients` (the floor's whole code). */
export function clientsSource(clients: readonly ClientPackage[]): string {
  return clients.map((name) => `export { ${CLIENT_PACKAGES[name].client} } from "${CLIENT_PACKAGES[name].module}";`).join("\n");
}

/** A bundle of `contents` (TypeScript, resolved from the working directory), as one file built like `like`. */
export async function bundleSource(name: string, contents: string, like: DeclaredFunction, directory: string): Promise<BundleReport> {
  const outfile = join(directory, name, "bundle.mjs");
  // One file: nothing here is loaded on demand.
  const { entryPoints: _entry, ...options } = sstBuildOptions({ ...like, nodejs: { ...like.nodejs, splitting: false } }, outfile);
  const sourcefile = `${name}.ts`;
  const result = await build({ ...options, plugins: await sstPlugins(like), stdin: { contents, resolveDir: resolve("."), sourcefile, loader: "ts" } });
  return report(sourcefile, result.metafile);
}

const weightOf = (bundle: BundleReport, name: string): number => bundle.inputs.find((input) => input.name === name)?.bytes ?? 0;

/**
 * The clients a function uses: those of which it carries at least half of what a bundle of the
 * client alone (`reference`, bundleClients of ALL_CLIENTS) carries. A module that only imports
 * from a client package leaves a residue (@upstash/redis's error classes, about 2.6 KB, where a
 * shared runtime module imports the Redis factory) that is no client and must not lift the floor.
 */
export function clientsUsed(bundle: BundleReport, reference: BundleReport): ClientPackage[] {
  return bundle.clients.filter((name) => weightOf(bundle, name) >= weightOf(reference, name) / 2);
}

/** `functions/lookups-get.handler` -> `functions-lookups-get`. */
export function bundleName(fn: DeclaredFunction): string {
  return fn.handler.spec.replace(/\.[^.]+$/, "").replace(/[^A-Za-z0-9]+/g, "-");
}

/** One entry per distinct bundle: functions that share a handler and its options share a bundle. */
export function distinctBundles(functions: readonly DeclaredFunction[]): DeclaredFunction[] {
  const seen = new Map<string, DeclaredFunction>();
  for (const fn of functions) {
    const key = JSON.stringify([fn.handler.file, fn.handler.exportName, fn.runtime, fn.nodejs]);
    if (!seen.has(key)) seen.set(key, fn);
  }
  return [...seen.values()];
}

/** A function that links a queue talks to SQS; every other function must not bundle the client. */
export function usesSqs(fn: DeclaredFunction): boolean {
  return fn.links.some((link) => link.kind === "queue");
}

/** The Telegram webhook is the function that links the webhook's secret token. */
export function isTelegramWebhook(fn: DeclaredFunction): boolean {
  return fn.links.some((link) => link.kind === "secret" && link.name === "TelegramWebhookSecret");
}

export function budgetOf(fn: DeclaredFunction): number {
  if (usesSqs(fn)) return BUDGET_BYTES.withSqs;
  return isTelegramWebhook(fn) ? BUDGET_BYTES.telegramWebhook : BUDGET_BYTES.withoutSqs;
}

/** What is wrong with a bundle, in words a reader can act on; empty when it is within its rules. */
export function bundleProblems(fn: DeclaredFunction, bundle: BundleReport): string[] {
  const problems: string[] = [];
  const budget = budgetOf(fn);
  if (bundle.bytes > budget) {
    const heaviest = bundle.inputs.slice(0, 5).map((input) => `${input.name} ${kb(input.bytes)}`).join(", ");
    const classic = bundle.inputFiles.some((path) => path.includes("node_modules/zod/v4/classic/"));
    const hint = classic ? `; it bundles zod's classic API (about 100 KB): write schemas with "zod/mini" (about 30 KB)` : "";
    const files = bundle.lazy.length > 0 ? " (entry and every chunk)" : "";
    problems.push(`${kb(bundle.bytes)} minified${files}, over its ${kb(budget)} budget (heaviest: ${heaviest})${hint}`);
  }
  if (!usesSqs(fn) && bundle.clients.includes(SQS_CLIENT)) {
    problems.push(`bundles ${SQS_CLIENT} but links no queue: import runtime/clients/sqs.ts only from functions that use SQS`);
  }
  const locales = bundle.inputFiles.filter((path) => /node_modules\/zod\/.*locales\/(?!en\.)/.test(path));
  if (locales.length > 0) {
    problems.push(`bundles ${locales.length} zod locales: import zod as \`import * as z from "zod"\`, not \`import { z } from "zod"\` (that namespace export keeps every locale)`);
  }
  return problems;
}

/** A bundle's size in `format`: a split bundle's entry (what a cold start imports) and its total (what ships). */
export function sizeLabel(bundle: BundleReport, format: (bytes: number) => string = kb): string {
  return bundle.lazy.length === 0 ? format(bundle.bytes) : `entry ${format(bundle.entryBytes)} / total ${format(bundle.bytes)}`;
}

export function kb(bytes: number): string {
  return `${(bytes / KB).toFixed(1)} KB`;
}
