import { AppError } from "../../core/errors";

/**
 * What a scheduled run does when one item fails: `continue` counts and reports it (the item is at
 * fault: invalid data, a conflict) and goes on with the next; `fail` stops the run and fails the
 * invocation (a dependency is down or we have a bug), so the next schedule starts over from the
 * saved cursor and the failure shows in the function's error metrics.
 */
export type CronDisposition = "continue" | "fail";

export function cronDispositionOf(error: unknown): CronDisposition {
  if (!(error instanceof AppError)) return "fail";
  switch (error.code) {
    case "invalid":
    case "unprocessable":
    case "conflict":
    case "not_found":
    case "precondition_failed":
    case "too_large":
      return "continue";
    default:
      return "fail";
  }
}
