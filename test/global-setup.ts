import type { TestProject } from "vitest/node";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { RedisKeys } from "../core/redis/keys";
import { startLocalCloud } from "../local/cloud";
import type { LocalCloud } from "../local/cloud";
import { loadSstManifest } from "../local/sst-manifest";
import { TEST_QUEUES } from "./support/queues";

/**
 * One local cloud for the whole run (servers chosen as `npm start` chooses them, BOTSTATE_EMBEDDED
 * honoured). Test files isolate themselves with their own database and Redis key prefix.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The SDK warns about Node 20 (Lambda runs 22); vitest.config's env only reaches the workers.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const runId = randomBytes(4).toString("hex");
  const runTemp = await useRunTempDir(runId);
  const manifest = await loadSstManifest();
  const cloud = await startLocalCloud({
    queues: [...manifest.queues, ...TEST_QUEUES],
    log: (line) => console.log(`[local-cloud] ${line}`),
  });
  project.provide("backing", { redisUrl: cloud.backing.redisUrl, databaseUrl: cloud.backing.databaseUrl });
  project.provide("cloud", { ...cloud.env });
  project.provide("queueUrls", { ...cloud.queueUrls });
  project.provide("runId", runId);
  return async () => {
    await removeRunLeftovers(cloud, runId);
    await cloud.stop();
    await runTemp.removeExpectingEmpty();
  };
}

/**
 * Points os.tmpdir() of this process and of the test workers (forked after the global setup,
 * inheriting its environment) at a folder of this run, so that anything a test or the local cloud
 * leaves in the temp folder fails the run by name instead of piling up.
 */
async function useRunTempDir(runId: string): Promise<{ removeExpectingEmpty(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `botstate-test-${runId}-`));
  // Traversable by the OS user embedded PostgreSQL runs as when we are root.
  await chmod(dir, 0o711);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return {
    async removeExpectingEmpty() {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      // tsx-<uid> is the compile cache of the tsx processes some tests spawn, not a leftover of theirs.
      const leftovers = (await readdir(dir)).filter((name) => !/^tsx-\d+$/.test(name));
      await rm(dir, { recursive: true, force: true });
      if (leftovers.length > 0) {
        // Thrown errors in a teardown are only logged; the exit code is what CI reads.
        process.exitCode = 1;
        throw new Error(`tests left ${leftovers.join(", ")} in the temp folder`);
      }
    },
  };
}

/** Databases and keys named after this run (test/support/cloud.ts), whether or not a file cleaned up. */
async function removeRunLeftovers(cloud: LocalCloud, runId: string): Promise<void> {
  const admin = new pg.Client({ connectionString: cloud.backing.databaseUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE $1", [`t\\_${runId}\\_%`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  let cursor = "0";
  do {
    const reply = await cloud.redisBackend.call("SCAN", [cursor, "MATCH", new RedisKeys(`t:${runId}:`).everythingPattern(), "COUNT", "1000"]);
    if (!Array.isArray(reply)) break;
    const [next, keys] = reply;
    cursor = String(next);
    if (Array.isArray(keys) && keys.length > 0) await cloud.redisBackend.call("DEL", keys.map((key) => String(key)));
  } while (cursor !== "0");
}
