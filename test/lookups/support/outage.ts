import { afterEach } from "vitest";
import { redisConfigSchema } from "../../../core/config";
import { HttpLegacyLookup } from "../../../core/lookups/adapters/http-legacy-lookup";
import type { LookupContext } from "../../../core/lookups/lookup-service";
import type { LookupResult } from "../../../core/lookups/model";
import { createUpstashRedis } from "../../../core/redis/upstash";
import { configFor } from "../../../runtime/config";
import { buildLookups } from "../../../runtime/lookups";
import type { LookupModule } from "../../../runtime/lookups";
import type { StoppableRedis } from "../../support/stoppable-redis";

const ample: LookupContext = { remainingTimeMs: () => 10_000 };

/** How a test takes the stoppable Redis down and brings it back. */
export function outagesOf(redis: () => StoppableRedis) {
  return [
    { how: "hangs (SIGSTOP)", hangs: true, down: () => Promise.resolve(redis().hang()), up: () => Promise.resolve(redis().resume()) },
    { how: "refuses (SIGKILL)", hangs: false, down: () => redis().kill(), up: () => redis().restart() },
  ] as const;
}

/**
 * Makes containers of the lookup functions talking to the stoppable Redis (given once it has
 * started); the fleet recorders of a test's containers are stopped after it.
 */
export function lookupContainers(redis: () => StoppableRedis): () => LookupModule {
  const built: LookupModule[] = [];
  afterEach(() => {
    for (const module of built.splice(0)) module.fleet.stop();
  });
  return () => {
    const { url, token } = redis();
    const client = createUpstashRedis({ url, token, retries: configFor(redisConfigSchema).REDIS_RETRIES });
    const module = buildLookups({ redis: client, legacy: new HttpLegacyLookup({ baseUrl: undefined }) });
    built.push(module);
    return module;
  };
}

export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const started = performance.now();
  const value = await work();
  return { value, elapsedMs: performance.now() - started };
}

/** The answer, or "not found". */
export function lookUp(module: LookupModule, identifier: string): Promise<LookupResult | "not found"> {
  return module.service.resolve(identifier, ample).catch((error: unknown) => {
    if ((error as { code?: string }).code === "not_found") return "not found";
    throw error;
  });
}

/**
 * Looks up until the answer comes from the cache again, a try every 25 ms (each a real lookup, so
 * a stall would show in `slowestMs`).
 */
export async function untilCached(module: LookupModule, identifier: string, deadlineMs: number): Promise<{ elapsedMs: number; slowestMs: number }> {
  const started = performance.now();
  let slowestMs = 0;
  for (;;) {
    const attempt = await timed(() => lookUp(module, identifier));
    slowestMs = Math.max(slowestMs, attempt.elapsedMs);
    if (typeof attempt.value === "object" && attempt.value.source === "cache") return { elapsedMs: performance.now() - started, slowestMs };
    if (performance.now() - started > deadlineMs) throw new Error(`not answered from the cache within ${deadlineMs} ms`);
    await new Promise((pace) => setTimeout(pace, 25));
  }
}
