import type { Redis } from "@upstash/redis";
import type { Sql } from "../core/db/neon";
import type { RedisKeys } from "../core/redis/keys";
import type { Summary } from "./stats";

export interface BenchContext {
  readonly apiUrl: string;
  readonly redis: Redis;
  readonly sql: Sql;
  readonly keys: RedisKeys;
  readonly serviceToken: string;
  readonly adminToken: string;
  /** Scale knob: 1 by default, lower for a quick run (BENCH_SCALE=0.2). */
  readonly scale: number;
}

export interface WorkloadResult extends Summary {
  /** Workload-specific figures (hit rate, queries per 1,000 requests, ...). */
  readonly extra?: Readonly<Record<string, number | string>>;
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Floors this workload is compared with; several are added up (e.g. SELECT + SET). */
  readonly floor?: readonly string[];
  /** Target for median / floor median, when the issue sets one. */
  readonly targetRatio?: number;
  /** Untimed preparation run just before `run` (e.g. seeding); share work across workloads by memoising. */
  setup?(context: BenchContext): Promise<void>;
  run(context: BenchContext): Promise<WorkloadResult>;
}
