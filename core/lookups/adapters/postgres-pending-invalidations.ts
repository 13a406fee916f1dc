import type { PendingInvalidations } from "../../cache/pending-gate";
import type { PostgresOutbox } from "../../outbox/adapters/postgres-outbox";
import { identifierKey } from "../identifier";
import { LOOKUP_INVALIDATION_TOPIC, identifiersIn } from "../invalidation";

/** The undelivered lookup invalidations (outbox rows of the topic, one indexed query), as lookup cache keys. */
export class PostgresPendingInvalidations implements PendingInvalidations {
  constructor(private readonly outbox: Pick<PostgresOutbox, "listPending">) {}

  async list(limit: number): Promise<{ names: string[]; more: boolean }> {
    const rows = await this.outbox.listPending(LOOKUP_INVALIDATION_TOPIC, limit + 1);
    return { names: rows.slice(0, limit).flatMap((row) => identifiersIn(row).map(identifierKey)), more: rows.length > limit };
  }
}
