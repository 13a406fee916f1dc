import type { Principal } from "../auth/tokens";
import { ValidationError } from "../errors";
import { resolveUserRef } from "../identity/user-ref";
import type { UserDirectory, UserRef } from "../identity/user-ref";
import type { PositionSide, PositionStatus, Position } from "./model";
import type { OpenPosition, OpenPositionStore, PositionRecords, RecordPage } from "./ports";
import { asOpen } from "./presenters";

export interface ListPositionsDeps {
  readonly store: OpenPositionStore;
  readonly records: PositionRecords;
  readonly directory: UserDirectory;
}

export interface ListPositionsInput {
  readonly principal: Principal;
  readonly ref: UserRef;
  readonly exchange?: string | undefined;
  readonly symbol?: string | undefined;
  readonly side?: PositionSide | undefined;
  readonly status: PositionStatus;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** Open positions come from Redis (all of the user's exchanges unless one is named), closed ones from Postgres; both paged. */
export async function listPositions(deps: ListPositionsDeps, input: ListPositionsInput): Promise<RecordPage> {
  const userId = await resolveUserRef(deps, input.principal, input.ref);
  const filter = { exchange: input.exchange, symbol: input.symbol, side: input.side };
  if (input.status === "closed") return deps.records.list({ userId, ...filter, status: "closed", limit: input.limit, cursor: input.cursor });
  return pageOpen(await deps.store.listOpen(userId, filter), input.limit, input.cursor);
}

/** The open list is small (a user's live positions), sorted by exchange, symbol, side; the cursor is the last one's place. */
export function pageOpen(sorted: readonly OpenPosition[], limit: number, cursor: string | undefined): RecordPage {
  const after = cursor === undefined ? null : decodeOpenCursor(cursor);
  const rest = after === null ? sorted : sorted.filter((p) => placeOf(p) > after);
  const positions: Position[] = rest.slice(0, limit).map(asOpen);
  const last = positions.at(-1);
  return { positions, nextCursor: rest.length > limit && last ? Buffer.from(`open|${placeOf(last)}`).toString("base64url") : null };
}

function placeOf(position: { exchange: string; symbol: string; side: string }): string {
  return `${position.exchange}\u0000${position.symbol}\u0000${position.side}`;
}

function decodeOpenCursor(cursor: string): string {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith("open|")) throw ValidationError.field("query.cursor", "must be the nextCursor of a previous page of the same status");
  return text.slice("open|".length);
}
