import type { Principal } from "../../auth/tokens";
import { getGuards } from "../../guards/get-guards";
import type { GuardViewDeps } from "../../guards/get-guards";
import type { GuardViewWire } from "../../guards/presenters";
import { listOpen } from "../../positions/list-open";
import type { OpenPosition as StoredPosition, OpenPositionStore } from "../../positions/ports";
import { getReconciliationSummary } from "../../reconciliation/get-summary";
import type { ReconciliationSummaryDeps } from "../../reconciliation/get-summary";
import type { ReconciliationEventWire } from "../../reconciliation/presenters";
import type { OpenPosition, StatusView } from "../model";
import type { BotPositions } from "../ports";

export interface BotPositionsDeps {
  readonly open: { readonly store: OpenPositionStore };
  readonly reconciliation: ReconciliationSummaryDeps;
  readonly guards: GuardViewDeps;
  /** The exchange whose drawdown guard /status shows (the bot registers OKX accounts). */
  readonly guardExchange: string;
}

/** The bot asks on behalf of the user the chat belongs to (already resolved from the chat). */
const BOT: Principal = { role: "service", subject: "telegram-bot" };

/** /positions and /status through the same use cases (and caches) as the HTTP API. */
export function useCaseBotPositions(deps: BotPositionsDeps): BotPositions {
  return {
    listOpen: async (userId) => (await listOpen(deps.open, userId)).map(toOpenPosition),
    status: async (userId) => {
      const ref = { kind: "user_id", value: userId } as const;
      const [reconciliation, guards] = await Promise.all([
        getReconciliationSummary(deps.reconciliation, { principal: BOT, ref }),
        getGuards(deps.guards, { principal: BOT, ref, exchange: deps.guardExchange }),
      ]);
      return toStatusView(reconciliation.summary, guards.view);
    },
  };
}

const text = (value: number | undefined): string | null => (value === undefined ? null : String(value));

function toOpenPosition(position: StoredPosition): OpenPosition {
  const { document } = position;
  return {
    symbol: position.symbol,
    side: position.side,
    size: String(document.size),
    entryPrice: text(document.entry_price),
    unrealizedPnl: text(document.unrealized_pnl),
    leverage: text(document.leverage),
  };
}

function eventLine(event: ReconciliationEventWire): string {
  return [event.kind, event.exchange, event.symbol, event.side].filter((part) => part !== null).join(" ");
}

function toStatusView(summary: Awaited<ReturnType<typeof getReconciliationSummary>>["summary"], guard: GuardViewWire): StatusView {
  return {
    reconciliation: {
      totalSyncs: summary.totalSyncs,
      openPositions: summary.openPositions,
      divergences: summary.divergencesDetected,
      lastSyncAt: summary.lastSyncAt === null ? null : new Date(summary.lastSyncAt),
      recentEvents: summary.recentEvents.map((event) => ({ at: new Date(event.createdAt), message: eventLine(event) })),
    },
    guard: { level: guard.status, drawdownPercent: guard.currentEquity === null ? null : guard.drawdownPct },
  };
}
