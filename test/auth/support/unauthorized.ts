import { expect } from "vitest";
import { UnauthorizedError } from "../../../core/errors";

/** The message of the UnauthorizedError a token check must reject with (fails the test otherwise). */
export async function unauthorizedMessage(check: Promise<unknown>): Promise<string> {
  const error = await check.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  return (error as UnauthorizedError).message;
}
