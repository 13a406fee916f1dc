import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Each file gets its own database and key prefix, so files run in parallel safely.
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 120_000,
    env: { TZ: "UTC" },
  },
});
