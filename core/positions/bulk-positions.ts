import type { PositionSide } from "./model";
import type { OpenPosition, OpenPositionStore } from "./ports";

export interface BulkPositionsInput {
  readonly userIds: readonly string[];
  readonly exchange?: string | undefined;
  readonly symbol?: string | undefined;
  readonly side?: PositionSide | undefined;
}

/** Open positions of up to 1,000 users in one pipeline (service role: no per-user reach check). */
export async function bulkPositions(deps: { readonly store: OpenPositionStore }, input: BulkPositionsInput): Promise<Map<string, OpenPosition[]>> {
  const userIds = [...new Set(input.userIds)];
  return deps.store.bulk(userIds, { exchange: input.exchange, symbol: input.symbol, side: input.side });
}
