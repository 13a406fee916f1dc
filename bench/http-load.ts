import autocannon from "autocannon";
import type { Summary } from "./stats";
import { summarize } from "./stats";

export interface HttpLoad {
  readonly url: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly headers?: Record<string, string>;
  /** Builds each request's path, e.g. to spread identifiers; a fixed URL when absent. */
  readonly nextPath?: () => string;
}

export interface HttpLoadResult extends Summary {
  readonly non2xx: number;
  readonly errors: number;
  /**
   * CPU time of this whole process per response, in µs: server, handlers, in-process local cloud
   * endpoints and the load generator together. Under saturation, latency follows it.
   */
  readonly cpuUsPerRequest: number;
}

/** autocannon load with every response time kept, so p95 is exact rather than autocannon's buckets. */
export async function runHttpLoad(load: HttpLoad): Promise<HttpLoadResult> {
  const latencies: number[] = [];
  const origin = new URL(load.url);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: origin.origin,
        connections: load.connections,
        duration: load.durationSeconds,
        headers: load.headers ?? {},
        requests: [
          {
            method: "GET",
            setupRequest: (request) => ({ ...request, path: load.nextPath ? load.nextPath() : origin.pathname + origin.search }),
          },
        ],
      },
      (error, outcome) => (error ? reject(error) : resolve(outcome)),
    );
    instance.on("response", (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
    });
  });
  const cpu = process.cpuUsage(cpuBefore);
  const summary = summarize(latencies, performance.now() - started);
  const cpuUsPerRequest = Math.round((cpu.user + cpu.system) / Math.max(1, latencies.length));
  return { ...summary, non2xx: result.non2xx, errors: result.errors, cpuUsPerRequest };
}
