import type CircuitBreaker from "opossum";

export type BreakerState = "closed" | "open" | "half-open";

/** What a breaker (opossum) is doing, for stats and health output. */
export function breakerStateOf(breaker: CircuitBreaker<never[], unknown> | { readonly halfOpen: boolean; readonly opened: boolean }): BreakerState {
  if (breaker.halfOpen) return "half-open";
  return breaker.opened ? "open" : "closed";
}

/** opossum rejects with this code while the breaker is open (the call was never made). */
export function isBreakerOpen(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "EOPENBREAKER";
}
