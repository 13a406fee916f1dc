import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatTable } from "../text-table";

/**
 * Runs a client library's own test suite, from a checkout of its repository, under this project's
 * vitest against the local cloud, and compares what fails with the list of failures this project
 * expects (each with its reason). Nothing of the library's repository is copied here.
 */

export const PROJECT_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const SHIMS = resolve(fileURLToPath(new URL("shims", import.meta.url)));

/** A test that fails against the local cloud, and why; `test` matches "<file> > <full test name>". */
export interface ExpectedFailure {
  readonly test: RegExp;
  readonly reason: string;
}

export interface UpstreamSuite {
  readonly title: string;
  /** Which commit of the repository ran, for the report. */
  readonly revision: string;
  /** Where vitest runs: the package folder of the checkout. */
  readonly root: string;
  readonly include: readonly string[];
  /** Module specifiers the tests import -> absolute files (shims, or this project's installed packages). */
  readonly aliases: Readonly<Record<string, string>>;
  readonly setupFiles?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly testTimeoutMs: number;
  readonly expectedFailures: readonly ExpectedFailure[];
  /** Extra vitest arguments (file filters, -t); a filtered run only reports, it is not compared. */
  readonly filters?: readonly string[];
}

/** Absolute path of a package entry as this project resolves it (ESM first). */
export function resolveFromProject(specifier: string): string {
  return fileURLToPath(import.meta.resolve(specifier));
}

interface AssertionResult {
  readonly fullName: string;
  readonly status: string;
  readonly failureMessages: readonly string[];
}
interface FileResult {
  readonly name: string;
  readonly status: string;
  readonly message: string;
  readonly assertionResults: readonly AssertionResult[];
}
interface Report {
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly numPendingTests: number;
  readonly testResults: readonly FileResult[];
}

/** Runs the suite and prints the comparison; resolves to the exit code (1 when a failure was not expected). */
export async function runUpstreamSuite(suite: UpstreamSuite): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), "conformance-"));
  try {
    const config = join(work, "vitest.config.mjs");
    const report = join(work, "report.json");
    await writeFile(config, vitestConfig(suite, work));
    const code = await runVitest(config, report, suite.env, suite.filters ?? []);
    if (!existsSync(report)) {
      console.error(`${suite.title}: vitest wrote no report (exit code ${code})`);
      return 1;
    }
    return summarize(suite, JSON.parse(readFileSync(report, "utf8")) as Report);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function vitestConfig(suite: UpstreamSuite, work: string): string {
  const aliases = Object.entries(suite.aliases).map(
    ([find, replacement]) => `{ find: new RegExp(${JSON.stringify(`^${find.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`)}), replacement: ${JSON.stringify(replacement)} }`,
  );
  return `export default {
  root: ${JSON.stringify(suite.root)},
  cacheDir: ${JSON.stringify(join(work, "cache"))},
  resolve: { alias: [${aliases.join(", ")}] },
  test: {
    include: ${JSON.stringify(suite.include)},
    setupFiles: ${JSON.stringify(suite.setupFiles ?? [])},
    // As the libraries run them: one file at a time (some flush the whole database).
    fileParallelism: false,
    pool: "forks",
    testTimeout: ${suite.testTimeoutMs},
    hookTimeout: ${suite.testTimeoutMs},
  },
};
`;
}

function runVitest(config: string, report: string, env: Readonly<Record<string, string>>, filters: readonly string[]): Promise<number | null> {
  const vitest = join(PROJECT_ROOT, "node_modules", "vitest", "vitest.mjs");
  const args = [vitest, "run", "--config", config, "--reporter=dot", "--reporter=json", `--outputFile.json=${report}`, ...filters];
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } });
    child.once("error", reject);
    child.once("exit", (code) => resolveRun(code));
  });
}

interface Failure {
  readonly file: string;
  readonly id: string;
  readonly message: string;
}

interface Classified {
  readonly failures: readonly Failure[];
  readonly byReason: ReadonlyMap<string, readonly Failure[]>;
  readonly unexpected: readonly Failure[];
  /** Listed failures that did not happen (only on an unfiltered run). */
  readonly stale: readonly ExpectedFailure[];
}

function summarize(suite: UpstreamSuite, report: Report): number {
  const classified = classify(suite, report);
  printFiles(suite, report, classified);
  console.log(`\n${suite.title} against the local cloud: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`);
  for (const [reason, list] of classified.byReason) {
    console.log(`\nexpected (${list.length}): ${reason}`);
    for (const failure of list) console.log(`  ${failure.id}`);
  }
  if (classified.stale.length > 0) {
    console.log(`\nexpected to fail but passed this time (timing-dependent, or fixed):`);
    for (const expected of classified.stale) console.log(`  ${expected.test.source}`);
  }
  if (classified.unexpected.length > 0) {
    console.log(`\nUNEXPECTED (${classified.unexpected.length}):`);
    for (const failure of classified.unexpected) console.log(`  ${failure.id}\n      ${failure.message}`);
    return 1;
  }
  console.log("\nno unexpected failure");
  return 0;
}

function classify(suite: UpstreamSuite, report: Report): Classified {
  const failures: Failure[] = [];
  for (const file of report.testResults) {
    const name = relative(suite.root, file.name);
    const failed = file.assertionResults.filter((test) => test.status === "failed");
    if (failed.length === 0 && file.status === "failed") failures.push({ file: name, id: `${name} > (file)`, message: firstLine(file.message) });
    for (const test of failed) failures.push({ file: name, id: `${name} > ${test.fullName}`, message: firstLine(test.failureMessages[0] ?? "") });
  }
  const byReason = new Map<string, Failure[]>();
  const unexpected: Failure[] = [];
  for (const failure of failures) {
    const known = suite.expectedFailures.find((expected) => expected.test.test(failure.id));
    if (known) byReason.set(known.reason, [...(byReason.get(known.reason) ?? []), failure]);
    else unexpected.push(failure);
  }
  const filtered = (suite.filters ?? []).length > 0;
  const stale = filtered ? [] : suite.expectedFailures.filter((expected) => !failures.some((failure) => expected.test.test(failure.id)));
  return { failures, byReason, unexpected, stale };
}

/** One line per test file: passed, failed (how many of them expected), skipped by the suite itself. */
function printFiles(suite: UpstreamSuite, report: Report, classified: Classified): void {
  const unexpectedIn = (file: string) => classified.unexpected.filter((failure) => failure.file === file).length;
  const rows = report.testResults
    .map((file) => {
      const name = relative(suite.root, file.name);
      const count = (status: string) => file.assertionResults.filter((test) => test.status === status).length;
      const failed = classified.failures.filter((failure) => failure.file === name).length;
      const unexpected = unexpectedIn(name);
      const skipped = file.assertionResults.length - count("passed") - count("failed");
      const verdict = unexpected > 0 ? "FAIL" : failed > 0 ? "expected" : "ok";
      return [name, String(count("passed")), failed === 0 ? "0" : `${failed} (${failed - unexpected} expected)`, String(skipped), verdict];
    })
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
  console.log(`\n${suite.title} (${suite.revision}), per file:`);
  for (const line of formatTable(["file", "passed", "failed", "skipped", "verdict"], rows)) console.log(line);
}

function firstLine(text: string): string {
  return text.split("\n").find((line) => line.trim().length > 0)?.trim().slice(0, 300) ?? "";
}
