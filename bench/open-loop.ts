import { Agent, get } from "node:http";
import type { Summary } from "./stats";
import { summarize } from "./stats";

export interface OpenLoad {
  readonly url: string;
  /** Requests started per second, whatever the answers take (open loop). */
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** Requests in flight at most (k6's pre-allocated VUs); a request due while all are busy is dropped. */
  readonly virtualUsers: number;
  readonly headers?: Record<string, string>;
  /** Builds each request's path; the URL's path when absent. */
  readonly nextPath?: () => string;
  /** Groups answered requests by path (e.g. per route) for per-group percentiles. */
  readonly labelOf?: (path: string) => string;
}

export interface OpenLoadResult extends Summary {
  /** Every answered request's latency, from when it was due. */
  readonly latenciesMs: readonly number[];
  /** The same latencies per labelOf group (empty without labelOf). */
  readonly latenciesByLabel: ReadonlyMap<string, readonly number[]>;
  readonly sent: number;
  /** Due while every virtual user was busy: the server could not keep the rate. */
  readonly dropped: number;
  readonly failed: number;
  readonly non2xx: number;
  readonly achievedRate: number;
  /** Process CPU (user + system, µs) spent while the load ran: client, server, handlers and the local cloud alike. */
  readonly cpuUs: number;
  /** cpuUs per answered request. */
  readonly cpuUsPerRequest: number;
}

const REQUEST_TIMEOUT_MS = 10_000;

function pushTo(groups: Map<string, number[]>, label: string, values: readonly number[]): void {
  const group = groups.get(label);
  if (group) group.push(...values);
  else groups.set(label, [...values]);
}

function request(agent: Agent, url: URL, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = get({ host: url.hostname, port: url.port, path, headers, agent }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
      response.on("error", reject);
    });
    call.setTimeout(REQUEST_TIMEOUT_MS, () => call.destroy(new Error("request timed out")));
    call.on("error", reject);
  });
}

/**
 * Open-loop load (constant arrival rate): request i is due at start + i / rate. Its latency counts
 * from when it was due, not from when it was sent, so a stalled server or event loop shows in the
 * percentiles instead of slowing the load down (no coordinated omission).
 */
export async function runOpenLoad(load: OpenLoad): Promise<OpenLoadResult> {
  const url = new URL(load.url);
  const agent = new Agent({ keepAlive: true, maxSockets: load.virtualUsers });
  const total = Math.round(load.ratePerSecond * load.durationSeconds);
  const intervalMs = 1000 / load.ratePerSecond;
  const latencies: number[] = [];
  const byLabel = new Map<string, number[]>();
  const inFlight = new Set<Promise<void>>();
  const counts = { dropped: 0, failed: 0, non2xx: 0 };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const send = (dueAt: number) => {
    const path = load.nextPath?.() ?? url.pathname + url.search;
    const label = load.labelOf?.(path);
    const done = request(agent, url, path, load.headers ?? {}).then(
      (status) => {
        const latency = performance.now() - dueAt;
        latencies.push(latency);
        if (label !== undefined) pushTo(byLabel, label, [latency]);
        if (status < 200 || status >= 300) counts.non2xx += 1;
      },
      () => void (counts.failed += 1),
    );
    const tracked = done.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  let next = 0;
  while (next < total) {
    for (const now = performance.now(); next < total && started + next * intervalMs <= now; next += 1) {
      if (inFlight.size >= load.virtualUsers) counts.dropped += 1;
      else send(started + next * intervalMs);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + next * intervalMs - performance.now())));
  }
  await Promise.all(inFlight);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  agent.destroy();
  const sent = total - counts.dropped;
  const cpuUs = cpu.user + cpu.system;
  const achievedRate = Math.round((sent * 1000) / elapsedMs);
  return { ...summarize(latencies, elapsedMs), latenciesMs: latencies, latenciesByLabel: byLabel, sent, ...counts, achievedRate, cpuUs, cpuUsPerRequest: Math.round(cpuUs / Math.max(1, latencies.length)) };
}

export interface Interleaved {
  readonly slices: number;
  readonly sliceSeconds: number;
}

/**
 * Several open loads in alternating slices (A, B, A, B, ...), one at a time, each result merged
 * over its slices: on a machine that others share, a burst of their work then falls on every load
 * alike instead of on whichever ran during it.
 */
export async function runInterleavedOpenLoads(loads: readonly Omit<OpenLoad, "durationSeconds">[], plan: Interleaved): Promise<OpenLoadResult[]> {
  const parts: OpenLoadResult[][] = loads.map(() => []);
  for (let slice = 0; slice < plan.slices; slice += 1) {
    for (const [index, load] of loads.entries()) parts[index]?.push(await runOpenLoad({ ...load, durationSeconds: plan.sliceSeconds }));
  }
  return parts.map((results) => {
    const latencies = results.flatMap((result) => result.latenciesMs);
    const byLabel = new Map<string, number[]>();
    for (const [label, values] of results.flatMap((result) => [...result.latenciesByLabel])) pushTo(byLabel, label, values);
    const sum = (pick: (result: OpenLoadResult) => number) => results.reduce((total, result) => total + pick(result), 0);
    const seconds = plan.slices * plan.sliceSeconds;
    return {
      ...summarize(latencies, seconds * 1000),
      latenciesMs: latencies,
      latenciesByLabel: byLabel,
      sent: sum((result) => result.sent),
      dropped: sum((result) => result.dropped),
      failed: sum((result) => result.failed),
      non2xx: sum((result) => result.non2xx),
      achievedRate: Math.round(sum((result) => result.sent) / seconds),
      cpuUs: sum((result) => result.cpuUs),
      cpuUsPerRequest: Math.round(sum((result) => result.cpuUs) / Math.max(1, latencies.length)),
    };
  });
}
