import type { Redis } from "@upstash/redis";
import type { Sql } from "../core/db/neon";
import type { RedisKeys } from "../core/redis/keys";
import type { SstManifest } from "../local/sst-manifest";
import type { Summary } from "./stats";

export interface BenchContext {
  readonly apiUrl: string;
  readonly redis: Redis;
  readonly sql: Sql;
  readonly keys: RedisKeys;
  readonly serviceToken: string;
  readonly adminToken: string;
  readonly manifest: SstManifest;
  /** Scale knob: 1 by default, lower for a quick run (BENCH_SCALE=0.2). */
  readonly scale: number;
}

/** A small table printed under the main one (e.g. one row per function). */
export interface Details {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface WorkloadResult extends Summary {
  /** Workload-specific figures (hit rate, queries per 1,000 requests, ...). */
  readonly extra?: Readonly<Record<string, number | string>>;
  /** Failed, non-2xx or dropped requests: any of them fails the row's verdict. */
  readonly errors?: number;
  /** For a workload whose floor is chosen as it runs (the clients a function uses): that floor. */
  readonly measuredFloor?: { readonly name: string; readonly medianMs: number };
  /** A target that is not a ratio (e.g. one query per stampede), and whether this run met it. */
  readonly ownTarget?: { readonly label: string; readonly met: boolean };
  readonly details?: Details;
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Floors this workload is compared with; several are added up (e.g. GET + SELECT + SET). */
  readonly floor?: readonly string[];
  /** Target for median / floor median, when the issue sets one. */
  readonly targetRatio?: number;
  /** Measures its own floor as it runs: never pulled into other runs as a floor (see bench/run.ts). */
  readonly ownFloor?: true;
  /** Untimed preparation run just before `run` (e.g. seeding); share work across workloads by memoising. */
  setup?(context: BenchContext): Promise<void>;
  run(context: BenchContext): Promise<WorkloadResult>;
}
