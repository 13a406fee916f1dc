import { constants as fsConstants } from "node:fs";
import { access } from "node:fs/promises";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { delimiter, join } from "node:path";

const LOOPBACK = "127.0.0.1";

/** A port that was free a moment ago; whoever binds it next may still lose a race for it. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Polls until `pid` is gone; past the deadline sends `escalate` (if any) and waits as long again. */
export async function waitForPidGone(pid: number, timeoutMs: number, escalate?: NodeJS.Signals): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) {
      if (!escalate) return false;
      killQuietly(pid, escalate);
      return waitForPidGone(pid, timeoutMs);
    }
    await sleep(20);
  }
  return true;
}

/** Resolves true if the promise settled in time; rejections count as settled and are rethrown. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/** Keeps the last `limit` characters of a process's output, for error messages. */
export function createTail(limit = 4_000): { push(text: string): void; text(): string } {
  let buffer = "";
  return {
    push(text) {
      buffer = (buffer + text).slice(-limit);
    },
    text: () => buffer.trim(),
  };
}

/** The first executable `name` in the folders of `path`, or null. */
export async function findOnPath(name: string, path: string | undefined): Promise<string | null> {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}
