import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "../../local/processes";
import { backing } from "./backing";
import { childEnv } from "./processes";

const FIXTURE = fileURLToPath(new URL("../fixtures/stoppable-upstash.ts", import.meta.url));
const READY_TIMEOUT_MS = 15_000;

/** The local Redis (its Upstash endpoint) in a process a test can stop, kill and start again. */
export interface StoppableRedis {
  /** The endpoint's URL, the same across restarts. */
  readonly url: string;
  readonly token: string;
  /** SIGSTOP: connections are accepted and never answered, as a hung Redis. */
  hang(): void;
  /** SIGCONT after hang(). */
  resume(): void;
  /** SIGKILL, resolved once the process is gone: connections are refused. */
  kill(): Promise<void>;
  /** Starts it again on the same port after kill(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function launch(port: number, token: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    env: childEnv({ PORT: String(port), UPSTASH_TOKEN: token, BACKING_REDIS_URL: backing().redisUrl ?? undefined }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`stoppable Redis did not start: ${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const ready = /ready (\S+)/.exec(output);
      if (!ready?.[1]) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      resolve({ child, url: ready[1] });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`stoppable Redis exited (${code ?? signal}) before it was ready: ${output}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startStoppableRedis(token: string): Promise<StoppableRedis> {
  const port = await freePort();
  let { child, url } = await launch(port, token);
  // Never leave a stopped process behind, whatever happens to this one.
  const killOnExit = () => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return {
    url,
    token,
    hang: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
    async restart() {
      ({ child, url } = await launch(port, token));
    },
    async stop() {
      process.removeListener("exit", killOnExit);
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await exited(child);
    },
  };
}
