import type { NeonQueryPromise } from "@neondatabase/serverless";
import { UnavailableError } from "../errors";
import type { Sql } from "./neon";

export type Query = NeonQueryPromise<false, false>;
export type Rows = Record<string, unknown>[];

export interface BoundedOptions {
  /**
   * Postgres cancels any statement running longer (and so rolls the transaction back): a stalled
   * write ends as "not applied", never as a change committed after the caller was told it failed.
   */
  readonly statementTimeoutMs: number;
  /** The client stops waiting after this long (default: statement timeout + 1 s of transport). */
  readonly requestTimeoutMs?: number;
  /** A write whose answer never came may have committed; a read never changes anything. */
  readonly kind: "read" | "write";
  /** Names the work in errors and logs. */
  readonly what: string;
}

/** SQLSTATEs of statements Postgres cancelled or could not run for a while: retry later. */
const TRANSIENT_SQLSTATES = new Set(["57014", "55P03", "40001", "40P01", "53300", "57P01", "57P03", "08000", "08003", "08006"]);

/**
 * Runs the queries in one Neon HTTP transaction (one round trip), each statement bounded by a
 * server-side `statement_timeout` set for this transaction only, the whole call by a client-side
 * deadline. Results are the rows of each given query, in order.
 */
export async function boundedTransaction(sql: Sql, queries: readonly Query[], options: BoundedOptions): Promise<Rows[]> {
  const limit = sql.query("SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $1, true)", [
    `${Math.max(1, Math.round(options.statementTimeoutMs))}ms`,
  ]);
  const requestTimeoutMs = options.requestTimeoutMs ?? options.statementTimeoutMs + 1_000;
  try {
    const results = (await sql.transaction([limit, ...queries], {
      fetchOptions: { signal: AbortSignal.timeout(requestTimeoutMs) },
    })) as Rows[];
    return results.slice(1);
  } catch (error) {
    throw classifyDatabaseError(error, options);
  }
}

/** One statement, bounded as above. */
export async function boundedQuery(sql: Sql, query: Query, options: BoundedOptions): Promise<Rows> {
  const [rows] = await boundedTransaction(sql, [query], options);
  return rows ?? [];
}

/** SQLSTATE of a Postgres error (server-side), undefined for transport failures. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * What a failed database call means for the caller. A Postgres error arrived, so the transaction
 * was rolled back: transient ones become a 503 "not applied", others are returned as they are for
 * the adapter to translate (unique violations, our own raised conditions). No answer at all (the
 * deadline passed, the connection broke) leaves a write's outcome unknown.
 */
export function classifyDatabaseError(error: unknown, options: Pick<BoundedOptions, "kind" | "what">): unknown {
  const state = sqlStateOf(error);
  if (state !== undefined) {
    if (TRANSIENT_SQLSTATES.has(state)) {
      return new UnavailableError(`${options.what}: the database did not complete in time (${state})`, { cause: error, outcome: "not_applied" });
    }
    return error;
  }
  return new UnavailableError(`${options.what}: the database did not answer`, {
    cause: error,
    outcome: options.kind === "write" ? "unknown" : "not_applied",
  });
}
