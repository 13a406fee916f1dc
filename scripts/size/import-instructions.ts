import { execFile } from "node:child_process";
import { availableParallelism } from "node:os";
import { promisify } from "node:util";
import pLimit from "p-limit";
import { importEnv, importNode, importProcess, importScript } from "./import-process";

const run = promisify(execFile);

/**
 * Instructions a fresh Node executes to import `files` (after what Lambda's runtime has loaded, as
 * import-handler does), counted by valgrind's callgrind under V8's `--predictable`: the count is the
 * same on every run whatever else the machine does, where CPU time wanders by 5–10 % between runs
 * here, more than the steps it is asked to tell apart. It is not time (cache misses, V8's helper
 * threads and system calls are not in it), so import-handler's CPU ratios stay the verdict; this
 * attributes them. The process's own start is subtracted: an empty `files` counts it.
 */
async function processInstructions(files: readonly string[], nodeOptions: string | undefined): Promise<number> {
  const args = ["--tool=callgrind", "--callgrind-out-file=/dev/null", importNode(), "--predictable", "--input-type=module", "-e", importScript(files, importProcess())];
  const { stderr } = await run("valgrind", args, { env: importEnv(nodeOptions), maxBuffer: 16 * 1024 * 1024 }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error("counting instructions needs valgrind on PATH (apt-get install valgrind)", { cause: error });
    throw error;
  });
  const collected = /Collected : (\d+)/.exec(stderr)?.[1];
  if (collected === undefined) throw new Error(`valgrind reported no instruction count:\n${stderr.slice(-2000)}`);
  return Number(collected);
}

/**
 * Import counts, each measured once (it never changes) and at most one valgrind per core at a time
 * (they do not disturb each other's counts, only take longer).
 */
export class ImportInstructions {
  private readonly limit = pLimit(availableParallelism());
  private readonly counts = new Map<string, Promise<number>>();

  /** Instructions the import of `file` adds to the process started with `nodeOptions`. */
  async of(file: string, nodeOptions: string | undefined): Promise<number> {
    const [total, start] = await Promise.all([this.count([file], nodeOptions), this.count([], nodeOptions)]);
    return total - start;
  }

  private count(files: readonly string[], nodeOptions: string | undefined): Promise<number> {
    const key = JSON.stringify([nodeOptions ?? "", files]);
    let count = this.counts.get(key);
    if (!count) {
      count = this.limit(() => processInstructions(files, nodeOptions));
      this.counts.set(key, count);
    }
    return count;
  }
}
