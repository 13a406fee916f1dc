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
import { importNodeVersion, importProcess } from "./size/import-process";
import { bundleStackRows, bundleWithFloors } from "./size/import-subjects";
import type { ImportSubject } from "./size/import-subjects";
import { formatTable } from "./text-table";

interface Counted {
  readonly subject: ImportSubject;
  readonly own: number;
  readonly floor: number;
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
  const previous = before && before.subject.floor === row.subject.floor ? before.own : row.floor;
  return `+${millions(row.own - previous)} M (+${(((row.own - previous) / row.floor) * 100).toFixed(0)} % of the floor)`;
}

function tableRow({ subject, own, floor }: Counted, last: string): string[] {
  return [subject.name, sizeLabel(subject.bundle, kb), millions(own), subject.floor.name, millions(floor), `${(own / floor).toFixed(2)}x`, last];
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
    console.log(formatTable(["function", "bundle", "M instr", "floor", "floor M instr", "ratio", "layer adds"], rows).join("\n"));
    const node = await importNodeVersion();
    console.log(`\nmillions of instructions to import each bundle (a split bundle: its entry), node ${node} --predictable under valgrind, ${importProcess()} process, the process's own start subtracted; the stack rows are no function`);
  } finally {
    directory.dispose();
  }
}

await main();
