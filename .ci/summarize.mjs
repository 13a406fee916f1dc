// Closing line of .ci/run: totals over the vitest JSON reports of every pass, and the exit code.
// Usage: node .ci/summarize.mjs <results dir> <pass>... (each pass wrote <results dir>/<pass>.json)
// Exits 1 when a pass reported a failed test, failed to run a file, or wrote no report at all.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [dir, ...passes] = process.argv.slice(2);
if (!dir || passes.length === 0) {
  console.error("usage: node .ci/summarize.mjs <results dir> <pass>...");
  process.exit(2);
}

let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];
for (const pass of passes) {
  const file = join(dir, `${pass}.json`);
  if (!existsSync(file)) {
    broken.push(`${pass} (no report)`);
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  const failedFiles = report.testResults.filter((result) => result.status === "failed").length;
  if (report.numFailedTests > 0 || failedFiles > 0 || report.success === false) broken.push(pass);
}
console.log(`ci: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (broken.length > 0) {
  console.log(`ci: failing passes: ${broken.join(", ")}`);
  process.exit(1);
}
