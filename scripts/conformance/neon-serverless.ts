/**
 * The @neondatabase/serverless repository's own CLI tests against the local Neon endpoint:
 *
 *   git clone https://github.com/neondatabase/serverless && npm run yardstick:neon -- ./serverless
 *   npm run yardstick:neon -- <bare git directory of serverless> [--ref=<tag|commit>]
 *
 * They run with the checkout's own bundled driver (index.mjs, what its tests are written for;
 * this project's installed driver when the checkout has none) against an embedded PostgreSQL of
 * their own, the driver pointed at the local endpoint (shims/neon-local.ts) with pipelineConnect
 * left at its default. Exit code 1 when a test fails that is not listed below with its reason.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { embeddedModeFromEnv } from "../../local/backing";
import { startLocalCloud } from "../../local/cloud";
import { sourceFromArgs } from "./upstream-source";
import { resolveFromProject, runUpstreamSuite, SHIMS } from "./upstream-tests";
import type { ExpectedFailure } from "./upstream-tests";

const NEON_HOSTNAMES = "Neon-cloud feature: the test makes a wrong project or host out of a *.neon.tech hostname";
const NEON_AUTHORIZE = "Neon-cloud feature: Neon Authorize (Clerk-issued JWTs checked by Neon's auth service)";
const PG_INTERNALS =
  "not the endpoint: the test compares node-postgres internals of the driver's bundled pg with this project's pg 8.23 (_prebuiltEmptyResultObject is the only difference reported)";

/** Every test of the repository that fails against the local endpoint, with the reason. */
const expectedFailures: readonly ExpectedFailure[] = [
  { test: /^tests\/cli\/http\.test\.ts > database URL with wrong (project|host) to `neon\(\)`$/, reason: NEON_HOSTNAMES },
  { test: /^tests\/cli\/httpAuthorize\.test\.ts > /, reason: NEON_AUTHORIZE },
  { test: /^tests\/cli\/ws\.test\.ts > WebSocket connections and queries WebSockets query results match pg\/TCP query results/, reason: PG_INTERNALS },
];

const source = sourceFromArgs({
  usage: "usage: npm run yardstick:neon -- <checkout or git directory of github.com/neondatabase/serverless> [--ref=<tag|commit>] [vitest filters]",
  marker: "tests/cli",
});
const { checkout, filters } = source;
const cloud = await startLocalCloud({ forceEmbedded: embeddedModeFromEnv() || true, log: (line) => console.log(`[local-cloud] ${line}`) });
const bundledDriver = join(checkout, "index.mjs");
const driver = existsSync(bundledDriver) ? bundledDriver : resolveFromProject("@neondatabase/serverless");
console.log(`driver: ${driver}`);
let code = 1;
try {
  const databaseUrl = await cloud.ensureDatabase("neon_conformance");
  code = await runUpstreamSuite({
    title: "@neondatabase/serverless tests",
    revision: source.revision,
    root: checkout,
    include: ["tests/cli/**/*.test.ts"],
    setupFiles: [join(checkout, "tests", "setup.ts"), join(SHIMS, "neon-local.ts")],
    aliases: {
      "@neondatabase/serverless": driver,
      vitest: resolveFromProject("vitest"),
      pg: resolveFromProject("pg"),
      ws: resolveFromProject("ws"),
      "node-fetch": resolveFromProject("node-fetch"),
      subtls: join(SHIMS, "subtls.ts"),
    },
    env: {
      NEON_FETCH_ENDPOINT: cloud.env.NEON_FETCH_ENDPOINT,
      NEON_WS_PROXY: cloud.env.NEON_WS_PROXY,
      VITE_NEON_DB_URL: databaseUrl,
      // One local server: the "pooler" URL is the same database.
      VITE_NEON_DB_POOLER_URL: databaseUrl,
      VITE_WSPROXY: cloud.env.NEON_WS_PROXY,
    },
    testTimeoutMs: 10_000,
    expectedFailures,
    filters,
  });
} finally {
  await cloud.stop();
  source.cleanup();
}
process.exit(code);
