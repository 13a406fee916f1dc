import type { NeonQueryFunctionInTransaction, NeonQueryInTransaction } from "@neondatabase/serverless";
import { UnavailableError } from "../errors";
import type { Sql } from "./neon";

/**
 * How long Postgres work may take, all of it below the function timeout (10 s by default):
 * - `statementTimeoutMs` is enforced by Postgres itself (`SET LOCAL statement_timeout` and
 *   `lock_timeout` at the start of every write transaction): a stalled write is cancelled and
 *   rolled back on the server, so the caller can be told for certain that nothing changed;
 * - `requestTimeoutMs` bounds the HTTP round trip on the client (the driver's fetch is aborted):
 *   when it fires first the server may or may not have committed, and the caller is told so.
 */
export interface DatabaseBudget {
  readonly statementTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

export const defaultDatabaseBudget: DatabaseBudget = { statementTimeoutMs: 2_000, requestTimeoutMs: 5_000 };

export type Row = Record<string, unknown>;
export type TransactionSql = NeonQueryFunctionInTransaction<false, false>;

/** SQLSTATEs after which Postgres has rolled the transaction back: the change certainly did not happen. */
const ROLLED_BACK = /^(57014|55P03|40001|40P01|57P0[1-5]|53[0-9A-Z]{3}|25P03)$/;
/** Rolled back because of another transaction; running it again is the fix (bounded). */
const RETRY_AT_ONCE = new Set(["40001", "40P01"]);
const MAX_ATTEMPTS = 3;

interface DriverError {
  readonly code?: unknown;
  readonly sourceError?: unknown;
  readonly message?: unknown;
}

/** Network failures that mean the request never left this process, so nothing ran. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && NOT_SENT.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Postgres' own error code, when the server answered with one. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as DriverError | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * What a failed database call means for the caller: an UnavailableError saying whether the work
 * certainly did not happen (`not_applied`) or may have (`unknown`), or null for an error that is
 * the caller's to translate (a constraint violation, a bug in a statement).
 */
export function availabilityError(error: unknown, what: string, write: boolean): UnavailableError | null {
  const state = sqlStateOf(error);
  if (state !== undefined) {
    if (ROLLED_BACK.test(state)) return new UnavailableError(`${what}: the database gave up (${state})`, { cause: error, outcome: "not_applied" });
    // Connection failures (class 08) may strike during COMMIT.
    if (state.startsWith("08")) return new UnavailableError(`${what}: connection lost (${state})`, { cause: error, outcome: write ? "unknown" : "not_applied" });
    return null;
  }
  const source = (error as DriverError | null)?.sourceError ?? error;
  if (causeCode(source) !== undefined) return new UnavailableError(`${what}: database unreachable`, { cause: error, outcome: "not_applied" });
  // Timed out, reset, or a proxy error after the request went out: the server may have committed.
  return new UnavailableError(`${what}: no answer from the database`, { cause: error, outcome: write ? "unknown" : "not_applied" });
}

/**
 * Postgres through Neon's HTTP driver with every call bounded (see DatabaseBudget): one round
 * trip per read, one per write transaction. Failures come out as UnavailableError (with the
 * outcome) or as the driver's error for the caller to translate (unique violations and the like).
 */
export class Database {
  constructor(
    readonly sql: Sql,
    readonly budget: DatabaseBudget = defaultDatabaseBudget,
  ) {}

  private fetchOptions() {
    return { fetchOptions: { signal: AbortSignal.timeout(this.budget.requestTimeoutMs) } };
  }

  /** One statement outside a transaction (a read). */
  async query(text: string, params: readonly unknown[] = [], what = "query"): Promise<Row[]> {
    try {
      return (await this.sql.query(text, [...params], this.fetchOptions())) as Row[];
    } catch (error) {
      throw availabilityError(error, what, false) ?? error;
    }
  }

  /**
   * One non-interactive transaction, opened by the server-side budget; results of the given
   * statements only. A deadlock or serialization failure (rolled back by Postgres) is retried.
   */
  async transaction(build: (sql: TransactionSql) => NeonQueryInTransaction[], what = "write"): Promise<Row[][]> {
    const timeout = `${Math.max(1, Math.floor(this.budget.statementTimeoutMs))}ms`;
    for (let attempt = 1; ; attempt++) {
      try {
        const results = (await this.sql.transaction(
          (tx) => [
            tx.query("SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $1, true)", [timeout]),
            ...build(tx),
          ],
          this.fetchOptions(),
        )) as Row[][];
        return results.slice(1);
      } catch (error) {
        const state = sqlStateOf(error);
        if (state !== undefined && RETRY_AT_ONCE.has(state) && attempt < MAX_ATTEMPTS) continue;
        throw availabilityError(error, what, true) ?? error;
      }
    }
  }
}
