import type { Database } from "../../db/database";
import { UnavailableError } from "../../errors";
import type { ClaimResult, DurableUpdateMarks, UpdateClaim } from "../ports";

/** Every failure of this store is the store being unavailable (no constraint here can be the caller's fault). */
async function run<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UnavailableError) throw error;
    throw new UnavailableError(`telegram update marks: ${what} failed`, { cause: error });
  }
}

/**
 * Update marks in Postgres (table telegram_updates), for when Redis is down. One statement takes
 * an update that is new, expired, or held by a lease that ran out, and otherwise reports what
 * holds it.
 */
export class PostgresUpdateMarks implements DurableUpdateMarks {
  constructor(private readonly db: Database) {}

  async claim(updateId: number, token: string, leaseMs: number): Promise<ClaimResult> {
    const [rows] = await run("claim", () =>
      this.db.transaction((sql) => [
        sql.query(
        `WITH taken AS (
           INSERT INTO telegram_updates (update_id, state, claim_token, lease_until, expires_at)
           VALUES ($1, 'processing', $2, now() + make_interval(secs => $3::float8 / 1000), now() + make_interval(secs => $3::float8 / 1000))
           ON CONFLICT (update_id) DO UPDATE
             SET state = 'processing', claim_token = EXCLUDED.claim_token, lease_until = EXCLUDED.lease_until, expires_at = EXCLUDED.expires_at
             WHERE telegram_updates.expires_at < now()
                OR (telegram_updates.state = 'processing' AND telegram_updates.lease_until < now())
           RETURNING 1
         )
         SELECT CASE WHEN EXISTS (SELECT 1 FROM taken) THEN 'claimed'
                     ELSE (SELECT state FROM telegram_updates WHERE update_id = $1) END AS outcome`,
          [updateId, token, leaseMs],
        ),
      ], "telegram update claim"),
    );
    const outcome = (rows?.[0] as { outcome?: string } | undefined)?.outcome;
    if (outcome === "claimed") return { kind: "claimed", claim: { updateId, token, store: "postgres" } };
    return outcome === "done" ? { kind: "done" } : { kind: "busy" };
  }

  async complete(claim: UpdateClaim, ttlSeconds: number): Promise<void> {
    await run("complete", () =>
      this.db.transaction((sql) => [
        sql.query(
          `INSERT INTO telegram_updates (update_id, state, expires_at) VALUES ($1, 'done', now() + make_interval(secs => $2::float8))
           ON CONFLICT (update_id) DO UPDATE SET state = 'done', claim_token = NULL, lease_until = NULL, expires_at = EXCLUDED.expires_at`,
          [claim.updateId, ttlSeconds],
        ),
        // The table only grows while Redis is down; marks past their TTL go as new ones arrive.
        sql.query("DELETE FROM telegram_updates WHERE expires_at < now() AND update_id <> $1", [claim.updateId]),
      ], "telegram update complete"),
    );
  }

  async release(claim: UpdateClaim): Promise<void> {
    await run("release", () =>
      this.db.transaction((sql) => [sql.query("DELETE FROM telegram_updates WHERE update_id = $1 AND state = 'processing' AND claim_token = $2", [claim.updateId, claim.token])], "telegram update release"),
    );
  }

  async peek(updateId: number): Promise<"done" | "busy" | null> {
    const rows = await run("peek", () =>
      this.db.query(
        `SELECT CASE WHEN state = 'done' THEN 'done' WHEN lease_until > now() THEN 'busy' END AS outcome
         FROM telegram_updates WHERE update_id = $1 AND expires_at > now()`,
        [updateId],
        "telegram update peek",
      ),
    );
    const outcome = (rows[0] as { outcome?: string | null } | undefined)?.outcome;
    return outcome === "done" || outcome === "busy" ? outcome : null;
  }
}
