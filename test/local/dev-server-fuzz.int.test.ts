import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import type { RouteDecl } from "../../local/sst-manifest";
import { TEST_JWT_SECRET, useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { hostileRequests, hostileTokens } from "../support/hostile-requests";
import { rawHttp } from "../support/raw-http";

const REQUESTS = 6_000;
const CONCURRENCY = 24;

let app: AppEnv;
let server: DevServer;
let routes: readonly RouteDecl[];

beforeAll(async () => {
  // Generous dependency budgets: a 503 from a dependency slowed by this very load is not what is
  // looked for here, a 5xx caused by what a request contains is.
  app = await useAppEnv({ LOOKUP_CACHE_TIMEOUT_MS: "3000", DATABASE_STATEMENT_TIMEOUT_MS: "10000", DATABASE_REQUEST_TIMEOUT_MS: "10000" });
  // Every route sst.config.ts declares, so routes added later are fuzzed without editing this file.
  routes = (await loadSstManifest()).routes;
  server = await startDevServer({ routes });
});
afterAll(async () => {
  await server?.close();
  await app?.database.drop();
});

describe("fuzzing every declared route through the dev server", () => {
  it(`${REQUESTS} hostile requests: no 5xx, no dropped connection, and the server still answers`, { timeout: 240_000 }, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31 - 1));
    console.log(`[fuzz] seed ${seed}; replay with FUZZ_SEED=${seed} npx vitest run test/local/dev-server-fuzz.int.test.ts`);
    const port = Number(new URL(server.url).port);
    const requests = hostileRequests(seed, routes, await hostileTokens(TEST_JWT_SECRET, "botstate"), REQUESTS);

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests.length) {
        const request = requests[next++]!;
        const reply = await rawHttp(port, request.wire(), 15_000);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (reply.status === 0 || reply.status >= 500) failures.push(`${reply.status} for ${request.description}: ${reply.body.slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(`[fuzz] seed ${seed}: ${REQUESTS} requests over ${routes.length} routes; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);

    expect(routes.length).toBeGreaterThan(0);
    expect(failures.slice(0, 20), `seed ${seed}: ${failures.length} failing request(s)`).toEqual([]);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
  });
});
