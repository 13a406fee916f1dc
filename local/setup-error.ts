/**
 * A start-up failure the developer can fix, told in one actionable line: `npm start` and the test
 * setup print its message alone, without a stack trace.
 */
export class LocalSetupError extends Error {
  override readonly name = "LocalSetupError";
}

/** A setup problem the developer can fix is one line on stderr; anything else keeps its stack. */
export function reportStartFailure(error: unknown): void {
  if (error instanceof LocalSetupError) console.error(`npm start: ${error.message}`);
  else console.error("npm start failed:", error);
}
