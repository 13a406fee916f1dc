import type { PositionSide } from "./model";
import type { OpenPosition, OpenPositionStore } from "./ports";

/** A user's open positions on every exchange; one Redis round trip. */
export async function listOpen(deps: { readonly store: OpenPositionStore }, userId: string): Promise<OpenPosition[]> {
  return deps.store.listOpen(userId, {});
}

/** The Telegram bot's view of one open position (structurally core/telegram/model.ts OpenPosition). */
export interface BotOpenPosition {
  readonly symbol: string;
  readonly side: PositionSide;
  readonly size: string;
  readonly entryPrice: string | null;
  readonly unrealizedPnl: string | null;
  readonly leverage: string | null;
}

const text = (value: number | undefined): string | null => (value === undefined ? null : String(value));

/**
 * What `BotPositions.listOpen` answers (core/telegram/ports.ts): wire it as
 * `{ listOpen: (userId) => listOpenForBot(botPositionsDeps(), userId), ... }`. The symbol carries the
 * exchange when it is not okx, so positions on two exchanges stay apart in one message.
 */
export async function listOpenForBot(deps: { readonly store: OpenPositionStore }, userId: string): Promise<BotOpenPosition[]> {
  return (await listOpen(deps, userId)).map((p) => ({
    symbol: p.exchange === "okx" ? p.symbol : `${p.exchange}:${p.symbol}`,
    side: p.side,
    size: String(p.document.size),
    entryPrice: text(p.document.entry_price),
    unrealizedPnl: text(p.document.unrealized_pnl),
    leverage: text(p.document.leverage),
  }));
}
