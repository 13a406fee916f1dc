import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface ContainerLine {
  readonly event: "ready" | "seen" | "done";
  readonly version?: number;
  readonly mode?: string;
  readonly at?: number;
  readonly reads?: number;
  readonly dbQueries?: number;
  readonly pid: number;
}

export interface ModeContainer {
  readonly lines: ContainerLine[];
  /** Resolves with the first line matching, or rejects after `timeoutMs`. */
  waitFor(match: (line: ContainerLine) => boolean, timeoutMs: number): Promise<ContainerLine>;
  /** Closes stdin and resolves with the final counts. */
  stop(): Promise<ContainerLine>;
}

const SCRIPT = fileURLToPath(new URL("./mode-container.ts", import.meta.url));

/** Starts a separate Node process reading the system mode with `env` (its own config and memo). */
export function startModeContainer(env: Record<string, string | undefined>): ModeContainer {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", SCRIPT], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
  const lines: ContainerLine[] = [];
  const waiters = new Set<() => void>();
  if (!child.stdout) throw new Error("container started without a stdout pipe");
  createInterface({ input: child.stdout }).on("line", (text) => {
    try {
      lines.push(JSON.parse(text) as ContainerLine);
    } catch {
      return;
    }
    for (const wake of waiters) wake();
  });
  const waitFor = (match: (line: ContainerLine) => boolean, timeoutMs: number) =>
    new Promise<ContainerLine>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (!found) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`container ${child.pid}: no matching line within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    lines,
    waitFor,
    stop: async () => {
      child.stdin?.end();
      try {
        return await waitFor((line) => line.event === "done", 10_000);
      } finally {
        child.kill();
      }
    },
  };
}
