/**
 * The @upstash/redis repository's own tests against the local Upstash endpoint:
 *
 *   git clone https://github.com/upstash/redis-js && npm run yardstick:upstash -- ./redis-js
 *   npm run yardstick:upstash -- <bare git directory of redis-js> [--ref=<tag|commit>]
 *
 * From a git directory, the tree of the release tag matching the installed client
 * (`@upstash/redis@<version>`), else of HEAD, is extracted into a temporary folder for the run.
 * They run under vitest (with `bun:test` and `bun` shimmed) against an endpoint in front of a
 * redis-server of its own (the tests flush the database), or the in-process engine with
 * BOTSTATE_EMBEDDED=memory. Exit code 1 when a test fails that is not listed below with its reason.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { embeddedModeFromEnv, startRedisBacking } from "../../local/backing";
import { createMemoryRedisBackend } from "../../local/redis-memory-backend";
import { connectRedisBackend } from "../../local/redis-server-backend";
import { startUpstashEndpoint } from "../../local/upstash-endpoint";
import { sourceFromArgs } from "./upstream-source";
import { PROJECT_ROOT, resolveFromProject, runUpstreamSuite, SHIMS } from "./upstream-tests";
import type { ExpectedFailure } from "./upstream-tests";

const REDIS_7_4 = "Redis 7.0 lacks the command: hash field expiry (HEXPIRE & co.) came in Redis 7.4";
const REDIS_8_0 = "Redis 7.0 lacks the command: HGETEX, HSETEX and HGETDEL came in Redis 8.0";
const REDIS_8_2 = "Redis 7.0 lacks the command: XACKDEL, XDELEX and BITOP DIFF/DIFF1/ANDOR/ONE came in Redis 8.2";
const JSON_MODULE = "Redis lacks the module: JSON.* needs RedisJSON (built into Upstash)";
const SEARCH = "Upstash-cloud feature: SEARCH.* is Upstash's own search, not a Redis command";
const UPSTASH_ENGINE = "Upstash-cloud behaviour: Upstash's engine answers differently from Redis 7.0 here";
const BUN = "the test depends on Bun rather than on the endpoint";
const TIMING = "timing, not the endpoint: the test gives a mock server of its own a fixed 100 ms, which a loaded machine misses";

/** Every test of the repository that fails against the local endpoint, with the reason. */
const expectedFailures: readonly ExpectedFailure[] = [
  { test: /^pkg\/commands\/(hexpire|hexpireat|hexpiretime|hpexpire|hpexpireat|hpexpiretime|httl|hpttl|hpersist)\.test\.ts > /, reason: REDIS_7_4 },
  // Both batch HEXPIRE with everything else.
  { test: /^pkg\/pipeline\.test\.ts > use all the things works$/, reason: REDIS_7_4 },
  { test: /^pkg\/auto-pipeline\.test\.ts > Auto pipeline should batch a large Promise\.all of mixed reads and writes/, reason: REDIS_7_4 },
  { test: /^pkg\/commands\/(hgetex|hsetex|hgetdel)\.test\.ts > /, reason: REDIS_8_0 },
  { test: /^pkg\/commands\/(xackdel|xdelex)\.test\.ts > /, reason: REDIS_8_2 },
  { test: /^pkg\/commands\/bitop\.test\.ts > when key is set (diff|diff1|andor|one) /, reason: REDIS_8_2 },
  { test: /^pkg\/commands\/json_/, reason: JSON_MODULE },
  { test: /^pkg\/auto-pipeline\.test\.ts > .*(JSON|json\.set)/, reason: JSON_MODULE },
  { test: /^pkg\/commands\/search\//, reason: SEARCH },
  { test: /^pkg\/redis\.test\.ts > search /, reason: SEARCH },
  // Upstash lets FCALL_RO run a function without the no-writes flag, and words the refusal of writes differently.
  { test: /^pkg\/functions\.integration\.test\.ts > redis\.functions \(integration\) FCALL_RO /, reason: UPSTASH_ENGINE },
  // Redis lists a consumer XREADGROUP created even with nothing pending; Upstash does not.
  { test: /^pkg\/commands\/xreadgroup\.test\.ts > NOACK should return 0 items in PEL$/, reason: UPSTASH_ENGINE },
  // Redis trims `MAXLEN ~ 30` to whole macro nodes (about 50 left); Upstash to about 30.
  { test: /^pkg\/commands\/xtrim\.test\.ts > XLEN should approximately trim stream to 30 items$/, reason: UPSTASH_ENGINE },
  // Expects Bun's fetch error text ("fetch() URL is invalid"); Node words it differently.
  { test: /^pkg\/http\.test\.ts > http should terminate after sleeping 5 times$/, reason: BUN },
  // Bun words its timeout error "The operation timed out."; Node "The operation was aborted due to timeout".
  { test: /^pkg\/http\.test\.ts > http should throw on request timeouts$/, reason: BUN },
  { test: /^pkg\/(http|commands\/subscribe)\.test\.ts > .*should handle streaming data split across two chunks$/, reason: TIMING },
  // Reads the script's SHA-1 one timer tick after creating it, which Bun's digest meets and Node's may not.
  { test: /^pkg\/script(Ro)?\.test\.ts > sha1 calculates the correct sha1/, reason: BUN },
];

const installed = (JSON.parse(readFileSync(join(PROJECT_ROOT, "node_modules", "@upstash", "redis", "package.json"), "utf8")) as { version: string }).version;
const source = sourceFromArgs({
  usage: "usage: npm run yardstick:upstash -- <checkout or git directory of github.com/upstash/redis-js> [--ref=<tag|commit>] [vitest filters]",
  marker: "packages/redis/pkg",
  preferredTags: [`@upstash/redis@${installed}`],
});
const { checkout, filters } = source;
console.log(`@upstash/redis tests of ${source.revision}; the project's client is ${installed}`);
// Ctrl-C: vitest stops on its own; exiting runs the exit hooks that remove the extracted tree and kill the spawned redis-server.
process.once("SIGINT", () => process.exit(130));
const endpoint = await startEndpoint();
let code = 1;
try {
  code = await runUpstreamSuite({
    title: "@upstash/redis tests",
    revision: `${source.revision}, against ${endpoint.engine}`,
    root: join(checkout, "packages", "redis"),
    include: ["pkg/**/*.test.ts"],
    aliases: {
      "bun:test": join(SHIMS, "bun-test.ts"),
      bun: join(SHIMS, "bun.ts"),
      uncrypto: resolveFromProject("uncrypto"),
    },
    env: { UPSTASH_REDIS_REST_URL: endpoint.url, UPSTASH_REDIS_REST_TOKEN: endpoint.token },
    testTimeoutMs: 20_000,
    expectedFailures,
    filters,
  });
} finally {
  await endpoint.stop();
  source.cleanup();
}
process.exit(code);

/**
 * The endpoint in front of a redis-server of its own (the tests flush the database), spawned even
 * when one listens on :6379; the in-process engine with BOTSTATE_EMBEDDED=memory. No Postgres.
 */
async function startEndpoint(): Promise<{ url: string; token: string; engine: string; stop(): Promise<void> }> {
  const redis = await startRedisBacking({ forceEmbedded: embeddedModeFromEnv() || true, log: (line) => console.log(`[yardstick] ${line}`) });
  const backend = redis.url === null ? createMemoryRedisBackend() : await connectRedisBackend(redis.url);
  const upstash = await startUpstashEndpoint({ backend, token: randomUUID() });
  const info = redis.url === null ? null : await backend.call("INFO", ["server"]);
  const version = info === null ? undefined : /redis_version:(\S+)/.exec(String(info))?.[1];
  return {
    url: upstash.url,
    token: upstash.token,
    engine: version === undefined ? "the in-process engine" : `Redis ${version}`,
    async stop() {
      await upstash.close();
      await backend.close();
      await redis.stop();
    },
  };
}
