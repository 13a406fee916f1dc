/**
 * `npm run size`: bundles every function sst.config.ts declares, as `sst deploy` would, and prints
 * its minified and gzip size (entry and total for a split bundle), its budget and its heaviest inputs. Exit code 1 when a function is
 * over its budget or breaks a bundle rule (scripts/size/bundle.ts).
 */
import { loadSstManifest } from "../local/sst-manifest";
import type { DeclaredFunction } from "../local/sst-manifest";
import { budgetOf, bundleDirectory, bundleFunction, bundleProblems, distinctBundles, kb, sizeLabel } from "./size/bundle";
import type { BundleReport } from "./size/bundle";
import { formatTable } from "./text-table";

const TOP_INPUTS = 4;

function row(fn: DeclaredFunction, bundle: BundleReport, problems: readonly string[]): string[] {
  return [
    fn.handler.spec.replace(/\.handler$/, ""),
    sizeLabel(bundle),
    kb(bundle.gzipBytes),
    `<= ${kb(budgetOf(fn))}`,
    problems.length === 0 ? "ok" : "OVER",
    bundle.inputs
      .slice(0, TOP_INPUTS)
      .map((input) => `${input.name} ${(input.bytes / 1000).toFixed(0)}`)
      .join(", "),
  ];
}

async function main(): Promise<void> {
  const manifest = await loadSstManifest();
  const directory = bundleDirectory();
  const rows: string[][] = [];
  const failures: string[] = [];
  try {
    for (const fn of distinctBundles(manifest.functions)) {
      const bundle = await bundleFunction(fn, directory.path);
      const problems = bundleProblems(fn, bundle);
      rows.push(row(fn, bundle, problems));
      failures.push(...problems.map((problem) => `${fn.handler.spec}: ${problem}`));
    }
  } finally {
    directory.dispose();
  }
  console.log(formatTable(["function", "minified", "gzip", "budget", "verdict", "largest inputs (KB)"], rows).join("\n"));
  console.log(`\n${rows.length} bundles; esbuild as SST 4 deploys them (ESM, minified, keepNames, AWS SDK bundled); 1 KB = 1000 bytes; a split bundle (nodejs.splitting) counts all its chunks against its budget`);
  if (failures.length > 0) {
    console.error(`\n${failures.join("\n")}`);
    process.exitCode = 1;
  }
}

await main();
