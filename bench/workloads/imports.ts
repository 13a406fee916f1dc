import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { DeclaredFunction } from "../../local/sst-manifest";
import { bundleDirectory, distinctBundles, sizeLabel } from "../../scripts/size/bundle";
import type { BundleReport, LazyChunk } from "../../scripts/size/bundle";
import { bundleStackRows, bundleWithFloors } from "../../scripts/size/import-subjects";
import type { ImportSubject } from "../../scripts/size/import-subjects";
import { importEnv, importNode, importNodeVersion, importProcess, importScript } from "../../scripts/size/import-process";
import type { IntervalVerdict, MedianInterval, Summary } from "../stats";
import { intervalVerdict, medianInterval, summarize } from "../stats";
import type { Details, Workload, WorkloadResult } from "../workload";

const run = promisify(execFile);

/** The import cost a function may have, as a multiple of a bundle of just the clients it uses. */
const TARGET_RATIO = 1.5;

interface Sample {
  readonly cpuMs: number;
  readonly wallMs: number;
}

/**
 * Imports a bundle in a fresh Node process (a cold start's module load) and reports its CPU time,
 * which other work on the shared cores disturbs far less than wall time, and its wall time. The
 * process gets only PATH and the function's NODE_OPTIONS, as Lambda would give it. `files` are
 * imported in turn: a split bundle's entry, then one of its lazily loaded chunks.
 */
async function importOnce(files: readonly string[], nodeOptions: string | undefined): Promise<Sample> {
  const { stdout } = await run(importNode(), ["--input-type=module", "-e", importScript(files, importProcess())], { env: importEnv(nodeOptions) });
  return JSON.parse(stdout) as Sample;
}

/** An import subject with its samples; its floor is imported next to it in every round. */
interface Measured extends ImportSubject {
  readonly samples: Sample[];
  /** A split bundle's entry and then its heaviest lazy chunk: the cold start of its costliest command. */
  readonly lazySamples: Sample[];
  /** The floor's imports, each next to one of the function's. */
  readonly floorSamples: Sample[];
}

const measured = (subject: ImportSubject): Measured => ({ ...subject, samples: [], lazySamples: [], floorSamples: [] });

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
  return summarize(roundRatios(samples, floorSamples), 1).medianMs;
}

const roundRatios = (samples: readonly Sample[], floorSamples: readonly Sample[]): number[] =>
  samples.map((sample, round) => sample.cpuMs / (floorSamples[round]?.cpuMs ?? Number.NaN));

/** The 95 % interval of that median: rows whose interval holds the target are too close to call in one run. */
const pairedInterval = (samples: readonly Sample[], floorSamples: readonly Sample[]) => medianInterval(roundRatios(samples, floorSamples));

interface Compared {
  readonly handler: Measured;
  readonly own: number;
  readonly base: number;
  readonly ratio: number;
  readonly interval: MedianInterval;
}

const compared = (handler: Measured): Compared => ({
  handler,
  own: cpuSummary(handler.samples).medianMs,
  base: cpuSummary(handler.floorSamples).medianMs,
  ratio: pairedRatio(handler.samples, handler.floorSamples),
  interval: pairedInterval(handler.samples, handler.floorSamples),
});

const kbOf = (bytes: number): string => `${(bytes / 1000).toFixed(0)} KB`;

/** A split bundle's costliest cold start: its entry, then the heaviest chunk a command loads. */
function withWorstLazy(handler: Measured): string {
  const lazy = worstLazy(handler.bundle);
  if (!lazy) return "-";
  const cpu = cpuSummary(handler.lazySamples).medianMs;
  return `+ ${lazy.entryPoint} (${kbOf(lazy.bytes)}): ${cpu.toFixed(1)} ms, ${pairedRatio(handler.lazySamples, handler.floorSamples).toFixed(2)}x`;
}

function row({ handler, own, base, ratio, interval }: Compared, verdict: string): string[] {
  return [
    handler.name,
    sizeLabel(handler.bundle, kbOf),
    own.toFixed(1),
    wallMedian(handler.samples).toFixed(1),
    handler.floor.name,
    base.toFixed(1),
    `${ratio.toFixed(2)}x`,
    `${interval.low.toFixed(2)}–${interval.high.toFixed(2)}`,
    verdict,
    withWorstLazy(handler),
  ];
}

function details(rows: readonly Compared[], stack: readonly Compared[]): Details {
  return {
    title: `import cost per function (fresh process${importProcess() === "lambda" ? " holding what Lambda's runtime has loaded" : ""}, median of the rounds, each import next to one of its floor's, and the 95 % interval of that median, which gives the verdict: ok when it lies within the target, MISS when over it, too close to call when it holds it); a split bundle's row imports its entry, the last column adds its heaviest lazily loaded chunk; the stack rows are no function (see bundleStackRows)`,
    header: ["function", "bundle", "cpu ms", "wall ms", "floor", "floor cpu ms", "ratio", "95 % interval", "target", "entry + worst lazy chunk"],
    rows: [
      ...rows.map((entry) => row(entry, `<= ${TARGET_RATIO}x ${intervalVerdict(entry.interval, TARGET_RATIO)}`)),
      ...stack.map((entry) => row(entry, "(no function)")),
    ],
  };
}

/** How many functions got each verdict, for the row's extra: `ok=6 miss=13 tooClose=22`. */
function verdictCounts(verdicts: readonly IntervalVerdict[]): Record<string, number> {
  const count = (verdict: IntervalVerdict) => verdicts.filter((each) => each === verdict).length;
  return { ok: count("ok"), miss: count("MISS"), tooClose: count("too close to call") };
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
        const subjects = await bundleWithFloors(functions, directory.path);
        const handlers = subjects.map(measured);
        const stack = (await bundleStackRows(functions, subjects, directory.path)).map(measured);
        await measureRounds([...handlers, ...stack], Math.max(3, Math.round(20 * scale)));
        const rows = handlers.map(compared);
        const worst = rows.reduce((a, b) => (b.ratio > a.ratio ? b : a));
        const verdicts = rows.map((entry) => intervalVerdict(entry.interval, TARGET_RATIO));
        return {
          ...cpuSummary(worst.handler.samples),
          measuredFloor: { name: worst.handler.floor.name, medianMs: worst.base },
          // The row is ok only when the table is: every function's interval within the target.
          ownTarget: { label: "each function by its interval", met: verdicts.every((verdict) => verdict === "ok") },
          extra: { ...verdictCounts(verdicts), worst: worst.handler.name, pairedRatio: worst.ratio.toFixed(2), functions: rows.length, process: importProcess(), wallMs: wallMedian(worst.handler.samples), node: await importNodeVersion(), nodeOptions: worst.handler.nodeOptions ?? "-" },
          details: details(rows, stack.map(compared)),
        };
      } finally {
        directory.dispose();
      }
    },
  },
];
