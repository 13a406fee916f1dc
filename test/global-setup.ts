import type { TestProject } from "vitest/node";
import { startLocalCloud } from "../local/cloud";
import { loadSstManifest } from "../local/sst-manifest";
import { TEST_QUEUES } from "./support/queues";

/**
 * One local cloud for the whole run (servers chosen as `npm start` chooses them, BOTSTATE_EMBEDDED
 * honoured). Test files isolate themselves with their own database and Redis key prefix.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The SDK warns about Node 20 (Lambda runs 22); vitest.config's env only reaches the workers.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const manifest = await loadSstManifest();
  const cloud = await startLocalCloud({
    queues: [...manifest.queues, ...TEST_QUEUES],
    log: (line) => console.log(`[local-cloud] ${line}`),
  });
  project.provide("backing", { redisUrl: cloud.backing.redisUrl, databaseUrl: cloud.backing.databaseUrl });
  project.provide("cloud", { ...cloud.env });
  project.provide("queueUrls", { ...cloud.queueUrls });
  return () => cloud.stop();
}
