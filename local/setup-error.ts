/**
 * A start-up failure the developer can fix, told in one actionable line: `npm start` and the test
 * setup print its message alone, without a stack trace.
 */
export class LocalSetupError extends Error {
  override readonly name = "LocalSetupError";
}
