import type { QueueDecl } from "../../local/sst-manifest";

/** Queues only the tests use (dev server poller tests), created next to the declared ones. */
export const TEST_QUEUES: readonly QueueDecl[] = [
  { name: "TestJobsDlq", visibilityTimeoutSeconds: 30 },
  { name: "TestJobs", visibilityTimeoutSeconds: 30, dlq: { name: "TestJobsDlq", maxReceiveCount: 2 } },
];
