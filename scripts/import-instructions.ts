/**
 * `npm run import-instructions [-- <regex>]`: for every function sst.config.ts declares (or those
 * whose handler matches), the instructions a fresh Node executes to import its bundle, against
 * those of the bundle of just the clients it uses, and the stack rows: each floor with the
 * libraries every HTTP function is built on added one at a time, and what each one adds. Counted by
 * valgrind, so the figures repeat exactly from run to run (see scripts/size/import-instructions.ts);
 * `BENCH_IMPORT_NODE` and `BENCH_IMPORT_PROCESS` as for the bench's import-handler.
 */
import { loadSstManifest } from "../local/sst-manifest";
import { bundleDirectory, distinctBundles, sizeLabel } from "./size/bundle";
import { ImportInstructions } from "./size/import-instructions";
import type { ImportCount } from "./size/import-instructions";
import { importNodeVersion, importProcess } from "./size/import-process";
import { bundleStackRows, bundleWithFloors } from "./size/import-subjects";
import type { ImportSubject } from "./size/import-subjects";
import { formatTable } from "./text-table";

interface Counted {
  readonly subject: ImportSubject;
  readonly own: ImportCount;
  readonly floor: ImportCount;
}

const millions = (count: number): string => (count / 1e6).toFixed(1);
const kb = (bytes: number): string => `${(bytes / 1000).toFixed(0)} KB`;

async function counted(counter: ImportInstructions, subjects: readonly ImportSubject[]): Promise<Counted[]> {
  return Promise.all(
    subjects.map(async (subject) => {
      const [own, floor] = await Promise.all([counter.of(subject.bundle.outfile, subject.nodeOptions), counter.of(subject.floor.bundle.outfile, subject.nodeOptions)]);
      return { subject, own, floor };
    }),
  );
}

/** A stack row's own layer: what it adds over the row before it (or over its floor, for the first). */
function added(rows: readonly Counted[], index: number): string {
  const row = rows[index];
  if (!row) return "-";
  const before = rows[index - 1];
  const previous = before && before.subject.floor === row.subject.floor ? before.own.total : row.floor.total;
  return `+${millions(row.own.total - previous)} M (+${(((row.own.total - previous) / row.floor.total) * 100).toFixed(0)} % of the floor)`;
}

/**
 * Where the instructions over the floor go: compiling the larger source, and the rest (running its
 * top level, the loader). The rest is not split further: linking a built-in's ESM facade, which
 * runs the built-in's own code, falls outside the evaluation or in it depending on which module
 * imports the built-in first.
 */
function overFloor({ own, floor }: Counted): string {
  const compile = own.compile - floor.compile;
  return `compile +${millions(compile)}, the rest +${millions(own.total - floor.total - compile)}`;
}

function tableRow(counted: Counted, last: string): string[] {
  const { subject, own, floor } = counted;
  return [subject.name, sizeLabel(subject.bundle, kb), millions(own.total), subject.floor.name, millions(floor.total), `${(own.total / floor.total).toFixed(2)}x`, overFloor(counted), last];
}

async function main(): Promise<void> {
  const only = process.argv[2] ? new RegExp(process.argv[2]) : undefined;
  const manifest = await loadSstManifest();
  const functions = distinctBundles(manifest.functions).filter((fn) => !only || only.test(fn.handler.spec));
  if (functions.length === 0) throw new Error(`no declared function matches ${process.argv[2]}`);
  const directory = bundleDirectory();
  try {
    const subjects = await bundleWithFloors(functions, directory.path);
    const stack = await bundleStackRows(functions, subjects, directory.path);
    process.stderr.write(`import-instructions: ${subjects.length + stack.length} bundles under valgrind, ${importProcess()} process ...\n`);
    const counter = new ImportInstructions();
    const [handlerRows, stackRows] = await Promise.all([counted(counter, subjects), counted(counter, stack)]);
    const rows = [...handlerRows.map((row) => tableRow(row, "-")), ...stackRows.map((row, index) => tableRow(row, added(stackRows, index)))];
    console.log(formatTable(["function", "bundle", "M instr", "floor", "floor M instr", "ratio", "M instr over the floor", "layer adds"], rows).join("\n"));
    const node = await importNodeVersion();
    console.log(`\nmillions of instructions to import each bundle (a split bundle: its entry), node ${node} --predictable under valgrind, ${importProcess()} process, the process's own start subtracted; over the floor: in V8's compile of the module (scanning and parsing its source), and in the rest (its top-level code and the functions it calls, compiled on first call; the loader); the stack rows are no function`);
  } finally {
    directory.dispose();
  }
}

await main();
