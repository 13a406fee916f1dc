import type { Principal } from "../auth/tokens";
import type { Clock, IdGenerator } from "../clock";
import { resolveUserRef } from "../identity/user-ref";
import type { UserDirectory, UserRef } from "../identity/user-ref";
import type { PositionSide } from "../redis/segments";
import type { Position } from "./model";
import type { OpenPositionStore } from "./ports";
import { asOpen } from "./presenters";
import { parsePositionFields } from "./schemas";

export interface PutPositionDeps {
  readonly store: OpenPositionStore;
  readonly directory: UserDirectory;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface PutPositionInput {
  readonly principal: Principal;
  readonly ref: UserRef;
  readonly exchange: string;
  readonly symbol: string;
  readonly side: PositionSide;
  readonly body: unknown;
}

/** A bot reports the whole state of one position: opened (created) or replaced (id and opened_at kept). */
export async function putPosition(deps: PutPositionDeps, input: PutPositionInput): Promise<{ created: boolean; position: Position }> {
  const fields = parsePositionFields(input.body);
  const userId = await resolveUserRef(deps, input.principal, input.ref);
  const ref = { userId, exchange: input.exchange, symbol: input.symbol, side: input.side };
  const outcome = await deps.store.set(ref, fields, deps.clock.now(), deps.ids.uuid());
  return { created: outcome.created, position: asOpen({ ...ref, document: outcome.document }) };
}
