import { check } from "./checks";
import type { Check } from "./checks";
import { startModeContainer } from "./containers";
import { setMode } from "./exactly-once";
import type { ProofWorld } from "./setup";

const CONTAINERS = 4;
const LIMIT_MS = 5_000;

/** A flip through the API is seen by every one of several separate container processes within 5 s. */
export async function proveModeFlip(world: ProofWorld, log: (line: string) => void): Promise<Check[]> {
  // Production settings: a 1 s check interval, each container its own process and memo.
  const env = { ...world.env, SYSTEM_MODE_CHECK_INTERVAL_MS: "1000" };
  const containers = Array.from({ length: CONTAINERS }, () => startModeContainer(env));
  try {
    const ready = await Promise.all(containers.map((container) => container.waitFor((line) => line.event === "ready", 60_000)));
    const current = ready[0]?.mode === "sync_direct" ? "sync_direct" : "async_queue";
    const flippedAt = Date.now();
    const version = await setMode(world, current === "sync_direct" ? "async_queue" : "sync_direct");
    const seen = await Promise.all(containers.map((container) => container.waitFor((line) => line.event === "seen" && line.version === version, LIMIT_MS * 2).catch(() => undefined)));
    const lags = seen.map((line) => (line?.at ?? Number.POSITIVE_INFINITY) - flippedAt);
    log(`  lags: ${lags.map((lag) => `${lag} ms`).join(", ")}`);
    const finals = await Promise.all(containers.splice(0).map((container) => container.stop()));
    const reads = finals.reduce((sum, line) => sum + (line.reads ?? 0), 0);
    const queries = finals.reduce((sum, line) => sum + (line.dbQueries ?? 0), 0);
    return [
      check(`flip seen by all ${CONTAINERS} containers within 5 s`, lags.every((lag) => lag < LIMIT_MS), `slowest ${Math.max(...lags)} ms`),
      check("mode reads without database queries", queries <= CONTAINERS, `${reads} reads, ${queries} database queries (at most one first fill per container)`),
    ];
  } finally {
    await Promise.all(containers.map((container) => container.stop().catch(() => undefined)));
  }
}
