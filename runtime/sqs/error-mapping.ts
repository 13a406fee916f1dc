import { AppError } from "../../core/errors";

/**
 * What an SQS consumer does with a record whose processing threw: `retry` leaves it on the queue
 * (reported as a batch item failure, redelivered after the visibility timeout, parked in the DLQ
 * after maxReceiveCount); `poison` acknowledges it, because no retry can ever succeed.
 */
export type SqsDisposition = "retry" | "poison";

export function sqsDispositionOf(error: unknown): SqsDisposition {
  if (!(error instanceof AppError)) return "retry";
  switch (error.code) {
    case "unavailable":
    case "rate_limited":
    case "config":
      return "retry";
    default:
      return "poison";
  }
}
