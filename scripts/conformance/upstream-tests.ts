import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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
  readonly id: string;
  readonly message: string;
}

function summarize(suite: UpstreamSuite, report: Report): number {
  const failures: Failure[] = [];
  for (const file of report.testResults) {
    const name = relative(suite.root, file.name);
    const failed = file.assertionResults.filter((test) => test.status === "failed");
    if (failed.length === 0 && file.status === "failed") failures.push({ id: `${name} > (file)`, message: firstLine(file.message) });
    for (const test of failed) failures.push({ id: `${name} > ${test.fullName}`, message: firstLine(test.failureMessages[0] ?? "") });
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

  console.log(`\n${suite.title} against the local cloud: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`);
  const skipped = report.testResults
    .map((file) => [relative(suite.root, file.name), file.assertionResults.filter((test) => test.status !== "passed" && test.status !== "failed").length] as const)
    .filter(([, count]) => count > 0);
  if (skipped.length > 0) console.log(`skipped by the suite itself: ${skipped.map(([file, count]) => `${file} (${count})`).join(", ")}`);
  for (const [reason, list] of byReason) {
    console.log(`\nexpected (${list.length}): ${reason}`);
    for (const failure of list) console.log(`  ${failure.id}`);
  }
  if (stale.length > 0) {
    console.log(`\nexpected to fail but passed this time (timing-dependent, or fixed):`);
    for (const expected of stale) console.log(`  ${expected.test.source}`);
  }
  if (unexpected.length > 0) {
    console.log(`\nUNEXPECTED (${unexpected.length}):`);
    for (const failure of unexpected) console.log(`  ${failure.id}\n      ${failure.message}`);
    return 1;
  }
  console.log("\nno unexpected failure");
  return 0;
}

function firstLine(text: string): string {
  return text.split("\n").find((line) => line.trim().length > 0)?.trim().slice(0, 300) ?? "";
}

/** The checkout path given as the first argument, checked to hold `marker`; what follows goes to vitest. */
export function checkoutFromArgs(usage: string, marker: string): { checkout: string; filters: string[] } {
  const [path, ...filters] = process.argv.slice(2);
  if (!path) {
    console.error(usage);
    process.exit(2);
  }
  const checkout = resolve(path);
  if (!existsSync(join(checkout, marker))) {
    console.error(`${checkout} does not look like the expected checkout (no ${marker})\n${usage}`);
    process.exit(2);
  }
  return { checkout, filters };
}
