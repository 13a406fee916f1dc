import { withTimeout } from "../resilience/timeout";

/** One dependency the health check exercises. */
export interface HealthProbe {
  readonly name: string;
  check(): Promise<void>;
}

export interface HealthCheckResult {
  readonly status: "ok" | "failing";
  readonly latencyMs: number;
  readonly error?: string;
}

export interface HealthReport {
  readonly status: "ok" | "degraded";
  readonly checks: Readonly<Record<string, HealthCheckResult>>;
}

export interface HealthDeps {
  readonly probes: readonly HealthProbe[];
  readonly timeoutMs: number;
  readonly monotonicNow: () => number;
}

/** Runs every probe in parallel, each bounded by the timeout, and never throws. */
export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const entries = await Promise.all(
    deps.probes.map(async (probe): Promise<[string, HealthCheckResult]> => {
      const started = deps.monotonicNow();
      try {
        await withTimeout(probe.check(), deps.timeoutMs, probe.name);
        return [probe.name, { status: "ok", latencyMs: elapsed(deps, started) }];
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return [probe.name, { status: "failing", latencyMs: elapsed(deps, started), error: message }];
      }
    }),
  );
  const checks = Object.fromEntries(entries);
  const status = entries.every(([, result]) => result.status === "ok") ? "ok" : "degraded";
  return { status, checks };
}

function elapsed(deps: HealthDeps, started: number): number {
  return Math.round((deps.monotonicNow() - started) * 10) / 10;
}
