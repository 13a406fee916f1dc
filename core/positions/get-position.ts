import type { Principal } from "../auth/tokens";
import { NotFoundError } from "../errors";
import type { Position } from "./model";
import type { OpenPositionStore, PositionRecords } from "./ports";
import { asOpen } from "./presenters";

export interface GetPositionDeps {
  readonly store: OpenPositionStore;
  readonly records: PositionRecords;
}

/**
 * One position by id, open (Redis, through its by-id key) or closed (Postgres). A row the record
 * still has as open but Redis no longer holds was closed outside the API (the sync records when):
 * it is answered as closed, never as a stale open one. Another user's position is 404 to a user
 * token, so ids cannot be probed.
 */
export async function getPosition(deps: GetPositionDeps, input: { readonly principal: Principal; readonly id: string }): Promise<Position> {
  const open = await deps.store.getById(input.id);
  const position = open ? asOpen(open) : await closedRecord(deps, input.id);
  if (!position || (input.principal.role === "user" && position.userId !== input.principal.userId)) {
    throw new NotFoundError(`no position ${input.id}`);
  }
  return position;
}

async function closedRecord(deps: GetPositionDeps, id: string): Promise<Position | null> {
  const record = await deps.records.byId(id);
  if (!record || record.status === "closed") return record;
  return { ...record, status: "closed" };
}
