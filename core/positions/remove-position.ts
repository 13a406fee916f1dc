import type { Principal } from "../auth/tokens";
import type { Clock } from "../clock";
import { NotFoundError } from "../errors";
import { resolveUserRef } from "../identity/user-ref";
import type { UserDirectory, UserRef } from "../identity/user-ref";
import type { PositionSide } from "../redis/segments";
import type { OpenPositionStore, PositionRecords } from "./ports";

export interface RemovePositionDeps {
  readonly store: OpenPositionStore;
  readonly records: PositionRecords;
  readonly directory: UserDirectory;
  readonly clock: Clock;
}

export interface RemovePositionInput {
  readonly principal: Principal;
  readonly ref: UserRef;
  readonly exchange: string;
  readonly symbol: string;
  readonly side: PositionSide;
}

/**
 * Closes a position: the durable record first (so a close is never lost, even for a position the
 * sync never saw), then the live hash, index member and by-id key, only if the hash still has the
 * id that was recorded. Postgres down: 503 and nothing changed. Redis failing after the record:
 * 503 (outcome unknown); a retry finishes it, and until then the sync re-opens the row it sees.
 */
export async function removePosition(deps: RemovePositionDeps, input: RemovePositionInput): Promise<void> {
  const userId = await resolveUserRef(deps, input.principal, input.ref);
  const ref = { userId, exchange: input.exchange, symbol: input.symbol, side: input.side };
  const open = await deps.store.get(ref);
  if (!open) throw new NotFoundError(`no open ${input.side} position on ${input.exchange} ${input.symbol}`);
  await deps.records.close(open, deps.clock.now());
  await deps.store.remove(ref, open.document.id);
}
