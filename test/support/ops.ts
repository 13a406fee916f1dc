import { PassThrough } from "node:stream";
import type { Redis } from "@upstash/redis";
import { runOps } from "../../scripts/ops/cli";
import type { OpsIo } from "../../scripts/ops/command";

export interface OpsRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Output streams for the ops CLI whose text can be read at any moment (also while it runs). */
export function capturedStreams() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  return { stdout, stderr, out: () => out, err: () => err };
}

/** The ops CLI in-process, its exit code and what it printed on stdout and stderr. */
export async function runOpsCaptured(argv: readonly string[], io: Pick<OpsIo, "env" | "cwd">): Promise<OpsRun> {
  const { stdout, stderr, out, err } = capturedStreams();
  const code = await runOps([...argv], { stdout, stderr, env: io.env, cwd: io.cwd });
  return { code, out: out(), err: err() };
}

/** Deletes every key matching `pattern` (a test's own prefix), page by page. */
export async function deleteKeys(redis: Redis, pattern: string, count = 1000): Promise<void> {
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, { match: pattern, count });
    if (found.length > 0) await redis.del(...found);
    cursor = String(next);
  } while (cursor !== "0");
}
