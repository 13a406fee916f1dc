import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Where a client library's repository comes from: a checkout (work tree), or a bare git directory
 * (a mirror without a work tree), whose files at one revision are extracted into a temporary
 * folder for the run and removed after it.
 */
export interface UpstreamSource {
  /** The folder holding the repository's files at `revision`. */
  readonly checkout: string;
  /** What ran, for the report: `<commit> (<how it was chosen>)`, or "working tree". */
  readonly revision: string;
  /** What follows the path on the command line (and is not --ref=): vitest filters. */
  readonly filters: string[];
  /** Removes the extracted folder (nothing for a checkout). */
  cleanup(): void;
}

export interface SourceOptions {
  readonly usage: string;
  /** A path every usable source has (e.g. packages/redis/pkg). */
  readonly marker: string;
  /** Tags tried in order when no --ref is given (the release matching the installed client); else HEAD. */
  readonly preferredTags?: readonly string[];
}

/** The first argument is a checkout or a git directory; `--ref=<tag|commit>` picks the revision of the latter. */
export function sourceFromArgs(options: SourceOptions, argv: readonly string[] = process.argv.slice(2)): UpstreamSource {
  const refArg = argv.find((arg) => arg.startsWith("--ref="));
  const [path, ...filters] = argv.filter((arg) => arg !== refArg);
  if (!path) fail(options.usage);
  const given = resolve(path);
  if (existsSync(join(given, options.marker))) {
    return { checkout: given, revision: `${headOf(given) ?? "unknown commit"} (working tree)`, filters, cleanup: () => {} };
  }
  if (git(given, ["rev-parse", "--git-dir"]) === undefined) {
    fail(`${given} is neither a checkout (no ${options.marker}) nor a git directory\n${options.usage}`);
  }
  const { commit, why } = chooseRevision(given, refArg?.slice("--ref=".length), options.preferredTags ?? []);
  const checkout = extract(given, commit);
  if (!existsSync(join(checkout, options.marker))) {
    rmSync(checkout, { recursive: true, force: true });
    fail(`${commit} of ${given} has no ${options.marker}\n${options.usage}`);
  }
  const cleanup = (): void => rmSync(checkout, { recursive: true, force: true });
  // Also when the run ends by process.exit (an interrupted run, a failure while starting).
  process.once("exit", cleanup);
  return { checkout, revision: `${commit.slice(0, 12)} (${why})`, filters, cleanup };
}

function chooseRevision(gitDir: string, ref: string | undefined, preferredTags: readonly string[]): { commit: string; why: string } {
  if (ref !== undefined) {
    const commit = git(gitDir, ["rev-parse", "--verify", `${ref}^{commit}`]);
    if (commit === undefined) fail(`${gitDir} has no revision ${ref}`);
    return { commit, why: `--ref=${ref}` };
  }
  for (const tag of preferredTags) {
    const commit = git(gitDir, ["rev-parse", "--verify", "--quiet", `refs/tags/${tag}^{commit}`]);
    if (commit !== undefined) return { commit, why: `tag ${tag}` };
  }
  const head = git(gitDir, ["rev-parse", "--verify", "HEAD^{commit}"]);
  if (head === undefined) fail(`${gitDir} has no HEAD commit`);
  const missing = preferredTags.length > 0 ? `; no tag ${preferredTags.join(" or ")} in it` : "";
  return { commit: head, why: `HEAD of the git directory${missing}` };
}

/** `git archive | tar -x`: the whole tree of one commit (packages refer to root files), git directory untouched. */
function extract(gitDir: string, commit: string): string {
  const folder = mkdtempSync(join(tmpdir(), "upstream-checkout-"));
  const archive = spawnSync("git", ["--git-dir", gitDir, "archive", "--format=tar", commit], { maxBuffer: 1 << 30 });
  if (archive.status !== 0) fail(`git archive ${commit} failed: ${archive.stderr.toString().trim()}`);
  const untar = spawnSync("tar", ["-x", "-C", folder], { input: archive.stdout });
  if (untar.status !== 0) fail(`tar -x into ${folder} failed: ${untar.stderr.toString().trim()}`);
  return folder;
}

function headOf(checkout: string): string | undefined {
  return git(checkout, ["rev-parse", "--short=12", "HEAD"]);
}

/** A git command's trimmed output, or undefined when it fails (not a repository, unknown ref). */
function git(where: string, args: readonly string[]): string | undefined {
  const gitDirArgs = existsSync(join(where, ".git")) ? ["-C", where] : ["--git-dir", where];
  const result = spawnSync("git", [...gitDirArgs, ...args], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
