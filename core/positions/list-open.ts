import type { OpenPosition, OpenPositionStore } from "./ports";

/** A user's open positions on every exchange, for the Telegram bot (BotPositions); one Redis round trip. */
export async function listOpen(deps: { readonly store: OpenPositionStore }, userId: string): Promise<OpenPosition[]> {
  return deps.store.listOpen(userId, {});
}
