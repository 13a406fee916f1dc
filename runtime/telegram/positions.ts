import { useCaseBotPositions } from "../../core/telegram/adapters/use-case-bot-positions";
import type { BotPositions } from "../../core/telegram/ports";
import { once } from "../config";
import { guardViewDeps } from "../guards";
import { botPositionsDeps } from "../positions";
import { reconciliationSummaryDeps } from "../reconciliation";

/**
 * /positions and /status: open positions from Redis, reconciliation and guard views through their
 * caches. Loaded by runtime/telegram.ts on the first of those commands.
 */
export function positionsForBot(): BotPositions {
  return once(positionsForBot, () =>
    useCaseBotPositions({ open: botPositionsDeps(), reconciliation: reconciliationSummaryDeps(), guards: guardViewDeps(), guardExchange: "okx" }),
  );
}
