import { positionsSyncSource } from "../../runtime/positions";
import { syncCommand } from "./sync";

/**
 * `sync-positions`: the positions source of the scheduled sync, by hand (same rules, lock and
 * options as the other sources; core/positions/adapters/positions-sync-source.ts).
 */
export const syncPositionsCommand = syncCommand(
  "positions",
  "positions (open ones upserted from positions:{user}:{exchange}:{symbol}:{side}, those that left the index closed with closed_at)",
  positionsSyncSource,
);
