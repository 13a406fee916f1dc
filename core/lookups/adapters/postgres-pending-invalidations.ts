import type { PostgresOutbox } from "../../outbox/adapters/postgres-outbox";
import type { Identifier } from "../identifier";
import { LOOKUP_INVALIDATION_TOPIC, identifiersIn } from "../invalidation";
import type { PendingInvalidations } from "../invalidation-gate";

/** The undelivered lookup invalidations: outbox rows of the topic, in one indexed query. */
export class PostgresPendingInvalidations implements PendingInvalidations {
  constructor(private readonly outbox: Pick<PostgresOutbox, "listPending">) {}

  async list(limit: number): Promise<{ identifiers: Identifier[]; more: boolean }> {
    const rows = await this.outbox.listPending(LOOKUP_INVALIDATION_TOPIC, limit + 1);
    return { identifiers: rows.slice(0, limit).flatMap((row) => identifiersIn(row)), more: rows.length > limit };
  }
}
