export type BreakerState = "closed" | "open" | "half-open";

/** What a breaker (circuit-breaker.ts) is doing, for stats and health output. */
export function breakerStateOf(breaker: { readonly halfOpen: boolean; readonly opened: boolean }): BreakerState {
  if (breaker.halfOpen) return "half-open";
  return breaker.opened ? "open" : "closed";
}

/** A breaker rejects with this code while it is open (the call was never made). */
export function isBreakerOpen(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "EOPENBREAKER";
}
