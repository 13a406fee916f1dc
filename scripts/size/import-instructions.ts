import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pLimit from "p-limit";
import { importEnv, importNode, importProcess, importScript } from "./import-process";

const run = promisify(execFile);

/**
 * Instructions of an import, and of them those spent compiling the module's source
 * (`v8::ScriptCompiler::CompileModule`: scanning it whole, parsing its top level, pre-parsing every
 * function), which grow with the bundle's bytes rather than with the work its top level does.
 */
export interface ImportCount {
  readonly total: number;
  readonly compile: number;
}

const COMPILE_SYMBOL = "v8::ScriptCompiler::CompileModule(";

const notFound = (tool: string) => (error: unknown) => {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`counting instructions needs ${tool} on PATH (apt-get install valgrind)`, { cause: error });
  throw error;
};

/**
 * The inclusive count of a symbol in callgrind_annotate's listing (not of its recursive cycle,
 * marked '2). Every import process compiles a module (its own script), so a missing symbol means a
 * Node binary without symbols or with other names, which must not read as zero.
 */
export function inclusiveOf(annotated: string, symbol: string): number {
  const line = annotated.split("\n").find((text) => text.includes(symbol) && !text.includes("'2"));
  const count = line ? /^\s*([\d,]+)/.exec(line)?.[1] : undefined;
  if (count === undefined) throw new Error(`callgrind_annotate lists no ${symbol}: ${importNode()} has no symbols or other names`);
  return Number(count.replaceAll(",", ""));
}

/**
 * Instructions a fresh Node executes to import `files` (after what Lambda's runtime has loaded, as
 * import-handler does), counted by valgrind's callgrind under V8's `--predictable`: the count is the
 * same on every run whatever else the machine does, where CPU time wanders by 5–10 % between runs
 * here, more than the steps it is asked to tell apart. It is not time (cache misses, V8's helper
 * threads and system calls are not in it), so import-handler's CPU ratios stay the verdict; this
 * attributes them. The process's own start is subtracted: an empty `files` counts it.
 */
async function processInstructions(files: readonly string[], nodeOptions: string | undefined): Promise<ImportCount> {
  const directory = mkdtempSync(join(tmpdir(), "botstate-callgrind-"));
  const profile = join(directory, "callgrind.out");
  try {
    const args = ["--tool=callgrind", `--callgrind-out-file=${profile}`, importNode(), "--predictable", "--input-type=module", "-e", importScript(files, importProcess())];
    const { stderr } = await run("valgrind", args, { env: importEnv(nodeOptions), maxBuffer: 16 * 1024 * 1024 }).catch(notFound("valgrind"));
    const collected = /Collected : (\d+)/.exec(stderr)?.[1];
    if (collected === undefined) throw new Error(`valgrind reported no instruction count:\n${stderr.slice(-2000)}`);
    const { stdout } = await run("callgrind_annotate", ["--inclusive=yes", "--threshold=100", profile], { maxBuffer: 64 * 1024 * 1024 }).catch(notFound("callgrind_annotate"));
    return { total: Number(collected), compile: inclusiveOf(stdout, COMPILE_SYMBOL) };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * Import counts, each measured once (it never changes) and at most one valgrind per core at a time
 * (they do not disturb each other's counts, only take longer).
 */
export class ImportInstructions {
  private readonly limit = pLimit(availableParallelism());
  private readonly counts = new Map<string, Promise<ImportCount>>();

  /** Instructions the import of `file` adds to the process started with `nodeOptions`. */
  async of(file: string, nodeOptions: string | undefined): Promise<ImportCount> {
    const [withFile, start] = await Promise.all([this.count([file], nodeOptions), this.count([], nodeOptions)]);
    return { total: withFile.total - start.total, compile: withFile.compile - start.compile };
  }

  private count(files: readonly string[], nodeOptions: string | undefined): Promise<ImportCount> {
    const key = JSON.stringify([nodeOptions ?? "", files]);
    let count = this.counts.get(key);
    if (!count) {
      count = this.limit(() => processInstructions(files, nodeOptions));
      this.counts.set(key, count);
    }
    return count;
  }
}
