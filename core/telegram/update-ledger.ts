import type { IdGenerator } from "../clock";
import { errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { withTimeout } from "../resilience/timeout";
import type { ClaimResult, DurableUpdateMarks, UpdateClaim, UpdateLedger, UpdateMarks } from "./ports";

export interface UpdateLedgerOptions {
  /** How long a claim holds an update: longer than the webhook function may run. */
  readonly leaseMs: number;
  /** How long a handled update stays marked: longer than Telegram redelivers (24 h). */
  readonly ttlSeconds: number;
  /** Longest a Redis call may take before Postgres is used instead. */
  readonly fastTimeoutMs: number;
}

export interface UpdateLedgerDeps {
  /** Redis: where marks normally live. */
  readonly fast: UpdateMarks;
  /** Postgres: where marks go while Redis is down, and what Redis is checked against after. */
  readonly durable: DurableUpdateMarks;
  readonly ids: IdGenerator;
  readonly log: LogPort;
  readonly options: UpdateLedgerOptions;
}

/**
 * Each update handled once across containers. Marks live in Redis; while Redis is down or slow
 * they go to Postgres. A Redis claim is checked against Postgres (read in parallel, so it costs no
 * extra wait) because an update handled during an outage is marked only there: a redelivery after
 * Redis came back must find that mark. A failed Postgres read never blocks a Redis claim.
 */
export class FailoverUpdateLedger implements UpdateLedger {
  constructor(private readonly deps: UpdateLedgerDeps) {}

  async claim(updateId: number): Promise<ClaimResult> {
    const { fast, durable, ids, log, options } = this.deps;
    const token = ids.uuid();
    const durableMark = durable.peek(updateId).catch((error: unknown) => {
      log.warn("telegram update marks: postgres read failed", { updateId, reason: errorMessage(error) });
      return null;
    });
    let result: ClaimResult;
    try {
      result = await withTimeout(fast.claim(updateId, token, options.leaseMs), options.fastTimeoutMs, "redis update mark");
    } catch (error) {
      log.warn("telegram update marks: redis unavailable, using postgres", { updateId, reason: errorMessage(error) });
      return durable.claim(updateId, token, options.leaseMs);
    }
    if (result.kind !== "claimed") return result;
    const mark = await durableMark;
    if (mark === null) return result;
    // Handled (or being handled) while Redis was away: Redis learns it, the update is not run again.
    if (mark === "done") await this.quietly("complete", () => fast.complete(result.claim, options.ttlSeconds));
    else await this.quietly("release", () => fast.release(result.claim));
    return { kind: mark };
  }

  /** The work is done whatever happens here: a failure is logged, never turned into a retry of it. */
  async complete(claim: UpdateClaim): Promise<void> {
    const { fast, durable, options } = this.deps;
    if (claim.store === "postgres") {
      await this.quietly("complete", () => durable.complete(claim, options.ttlSeconds));
      await this.quietly("complete", () => withTimeout(fast.complete(claim, options.ttlSeconds), options.fastTimeoutMs, "redis update mark"));
      return;
    }
    try {
      await withTimeout(fast.complete(claim, options.ttlSeconds), options.fastTimeoutMs, "redis update mark");
    } catch (error) {
      this.deps.log.warn("telegram update marks: redis complete failed, marking in postgres", { updateId: claim.updateId, reason: errorMessage(error) });
      await this.quietly("complete", () => durable.complete(claim, options.ttlSeconds));
    }
  }

  /** Gives the update back for Telegram's redelivery; if this fails, the lease runs out instead. */
  async release(claim: UpdateClaim): Promise<void> {
    const { fast, durable, options } = this.deps;
    await this.quietly("release", () => (claim.store === "redis" ? withTimeout(fast.release(claim), options.fastTimeoutMs, "redis update mark") : durable.release(claim)));
  }

  private async quietly(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.deps.log.error(`telegram update marks: ${what} failed`, { reason: errorMessage(error) });
    }
  }
}
