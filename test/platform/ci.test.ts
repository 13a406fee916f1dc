import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runToEnd } from "../support/processes";

const SUMMARIZE = resolve(".ci/summarize.mjs");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "botstate-ci-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** The parts of a vitest JSON report that .ci/summarize.mjs reads. */
function report(passed: number, failed: number, skipped = 0, fileStatus: "passed" | "failed" = failed > 0 ? "failed" : "passed") {
  return {
    numPassedTests: passed,
    numFailedTests: failed,
    numPendingTests: skipped,
    numTodoTests: 0,
    success: failed === 0 && fileStatus === "passed",
    testResults: [{ name: "x.test.ts", status: fileStatus, assertionResults: [] }],
  };
}

async function summarize(reports: Record<string, unknown>, passes: readonly string[]) {
  const runDir = await mkdtemp(join(dir, "run-"));
  for (const [pass, content] of Object.entries(reports)) await writeFile(join(runDir, `${pass}.json`), JSON.stringify(content));
  return runToEnd(process.execPath, [SUMMARIZE, runDir, ...passes], { timeoutMs: 10_000 });
}

describe(".ci/run's closing line and exit code", () => {
  it("sums every pass and exits 0 when all passed", async () => {
    const run = await summarize({ main: report(10, 0, 2), memory: report(5, 0) }, ["main", "memory"]);
    expect(run.output.trim()).toBe("ci: 15 passed, 0 failed, 2 skipped");
    expect(run.code).toBe(0);
  });

  it("exits 1 when any pass has a failed test, still with the totals", async () => {
    const run = await summarize({ main: report(10, 0), memory: report(4, 1) }, ["main", "memory"]);
    expect(run.output).toContain("ci: 14 passed, 1 failed, 0 skipped");
    expect(run.output).toContain("failing passes: memory");
    expect(run.code).toBe(1);
  });

  it("exits 1 when a file failed without a failed test (an import error) or a pass wrote no report", async () => {
    const brokenFile = await summarize({ main: report(3, 0, 0, "failed") }, ["main"]);
    expect(brokenFile.code).toBe(1);
    const missing = await summarize({ main: report(3, 0) }, ["main", "embedded"]);
    expect(missing.output).toContain("failing passes: embedded (no report)");
    expect(missing.code).toBe(1);
  });
});
