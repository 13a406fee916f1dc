import type { PostgresOutbox } from "../../outbox/adapters/postgres-outbox";
import { CACHE_BUMP_TOPIC, tagsIn } from "../outbox";
import type { PendingInvalidations } from "../pending-gate";

/** The tag bumps committed writes still owe (outbox rows of the topic, one indexed query). */
export class PostgresPendingTagBumps implements PendingInvalidations {
  constructor(private readonly outbox: Pick<PostgresOutbox, "listPending">) {}

  async list(limit: number): Promise<{ names: string[]; more: boolean }> {
    const rows = await this.outbox.listPending(CACHE_BUMP_TOPIC, limit + 1);
    return { names: rows.slice(0, limit).flatMap((row) => tagsIn(row)), more: rows.length > limit };
  }
}
