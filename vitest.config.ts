import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Each file gets its own database and key prefix, so files run in parallel safely.
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 120_000,
    // Lambda runs Node 22; the SDK's notice about Node 20 is noise on developer machines.
    // EMF metric lines are for CloudWatch; test/metrics.test.ts turns them back on where it checks them.
    env: { TZ: "UTC", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", POWERTOOLS_METRICS_DISABLED: "true" },
  },
});
